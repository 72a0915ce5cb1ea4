"""The scoring jobs: score chosen leads, or re-score a campaign's leads after its rubric changed."""

from __future__ import annotations

from typing import Any

from core.background.context import JobContext
from core.db import UnitOfWork
from core.scoring.service import leads_of_campaign, score_leads


def score_leads_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Job: score the given leads of the job's workspace (safe to run twice: it overwrites)."""
    if ctx.workspace_id is None:
        return {"skipped": "no workspace"}
    done = score_leads(
        workspace_id=ctx.workspace_id,
        lead_ids=[int(i) for i in args.get("lead_ids", [])],
        use_llm=bool(args.get("use_llm", True)),
        progress=lambda d, t: ctx.progress(d, t, f"Scored {d} of {t} leads"),
    )
    return {"scored": done.scored, "judged": done.judged, "errors": done.errors[:20]}


def rescore_campaign_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Job: re-score a campaign's leads whose score used another rubric version (resumes after a crash)."""
    if ctx.workspace_id is None:
        return {"skipped": "no workspace"}
    with UnitOfWork() as uow:
        ids = leads_of_campaign(
            uow, workspace_id=ctx.workspace_id, campaign_id=int(args["campaign_id"]), stale_only=True
        )
    done = score_leads(
        workspace_id=ctx.workspace_id,
        lead_ids=ids,
        use_llm=bool(args.get("use_llm", True)),
        progress=lambda d, t: ctx.progress(d, t, f"Re-scored {d} of {t} leads"),
    )
    return {"scored": done.scored, "judged": done.judged, "errors": done.errors[:20]}
