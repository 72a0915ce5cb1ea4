"""Outreach: sandboxed templates, drafts, the outbox, suppression, channels and provider events."""
