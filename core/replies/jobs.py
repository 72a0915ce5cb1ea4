"""Background jobs of the replies area."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from core.background.context import JobContext
from core.config import get_settings
from core.replies.imap import poll_mailbox
from core.replies.refine import refine_replies


def mailbox_configured() -> bool:
    """Whether the periodic mailbox read is worth submitting (IMAP is set up)."""
    return get_settings().imap_enabled


def poll_replies_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Read new mail from the sending mailbox (submitted every two minutes while IMAP is configured)."""
    settings = get_settings()
    if not settings.imap_enabled:
        return {"skipped": "no mailbox configured (IMAP_HOST)"}
    result = poll_mailbox(settings=settings)
    older = f"; left {result.older} older mails alone (received before the first email sent)" if result.older else ""
    ctx.progress(result.read, result.read, f"Read {result.read} new mails, stored {result.recorded}{older}")
    return asdict(result)


def refine_replies_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Let the LLM read the answers the rules classified (submitted every minute while some wait)."""
    counts = refine_replies()
    read = int(counts.get("read", 0))
    ctx.progress(read, read, f"The LLM read {read} replies and changed the class of {counts.get('changed', 0)}")
    return dict(counts)
