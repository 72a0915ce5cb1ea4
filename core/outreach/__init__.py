"""Outreach: sandboxed templates, drafts, the outbox, suppression, channels and provider events."""

from core.jobs import register_kind

register_kind("outreach.send", "core.outreach.sender:send_job", queue="send")
