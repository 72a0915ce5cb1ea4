"""API keys for the REST API (per workspace, hashed, scoped) and the Idempotency-Key store."""
