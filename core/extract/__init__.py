"""HTML → SiteProfile with evidence: every extractor is pure (no database, no network)."""
