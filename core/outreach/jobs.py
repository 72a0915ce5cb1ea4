"""The outreach jobs: send the workspace's queued messages (now, or when due), draft messages with the LLM."""

from __future__ import annotations

from typing import Any

from core.background.context import JobContext
from core.llm import get_llm
from core.outreach.drafts import create_ai_drafts
from core.outreach.sender import send_queued


def send_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Job entry point ``outreach.send``: send the workspace's queued messages (safe to run twice)."""
    summary = send_queued(
        workspace_id=args.get("workspace_id") or ctx.workspace_id,
        progress=lambda done, msg: ctx.progress(done, None, msg),
    )
    return {
        "sent": summary.sent,
        "failed": summary.failed,
        "unknown": summary.unknown,
        "suppressed": summary.suppressed,
        "waiting": summary.waiting,
        "capped": summary.capped,
        "paused": summary.paused,
    }


def send_due_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Periodic job ``outreach.send_due``: send every workspace's queued messages whose time has come."""
    summary = send_queued(progress=lambda done, msg: ctx.progress(done, None, msg))
    return {
        "sent": summary.sent,
        "failed": summary.failed,
        "unknown": summary.unknown,
        "suppressed": summary.suppressed,
        "waiting": summary.waiting,
        "capped": summary.capped,
    }


def draft_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Job entry point ``outreach.draft``: draft the selected leads (safe to run twice: one draft per step)."""
    llm = get_llm()
    if llm is None or ctx.workspace_id is None:
        return {"created": 0, "skipped": "no LLM key configured"}
    outcome = create_ai_drafts(
        workspace_id=ctx.workspace_id,
        lead_ids=[int(i) for i in args.get("lead_ids", [])],
        channel=str(args.get("channel", "email")),
        step=int(args.get("step", 1)),
        llm=llm,
        progress=lambda done, total: ctx.progress(done, total, f"Drafted {done} of {total} leads"),
    )
    return {"created": len(outcome.created), "skipped": [f"lead {i}: {why}" for i, why in outcome.skipped][:50]}
