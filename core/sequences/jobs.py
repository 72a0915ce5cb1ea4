"""The sequence job: queue every due step (the periodic ``sequences.advance``)."""

from __future__ import annotations

from typing import Any

from core.background.context import JobContext
from core.sequences.advance import advance_due


def advance_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Periodic job ``sequences.advance``: due steps become queued messages; the scheduled sender sends them."""
    summary = advance_due()
    return {
        "queued": summary.queued,
        "left": summary.left,
        "finished": summary.finished,
        "scheduled": summary.scheduled,
    }
