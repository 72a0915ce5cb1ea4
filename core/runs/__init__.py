"""Runs of an approved strategy: search, then crawl and analyse candidate sites in batches."""
