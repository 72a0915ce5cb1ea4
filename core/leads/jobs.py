"""The leads jobs: a big CSV import, run in the background from the file kept in the data folder."""

from __future__ import annotations

from typing import Any

from core.auth.admin import owner_actor
from core.auth.service import actor_for
from core.background.context import JobContext
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Job
from core.leads.csv_import import REJECTED_LISTED, import_csv, rejected_csv


def import_csv_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Job: import a stored file; running it twice changes nothing more (updates are idempotent)."""
    with UnitOfWork() as uow:
        job = uow.session.get(Job, ctx.job_id)
        user_id = job.created_by if job else None
    assert ctx.workspace_id is not None
    actor = (
        actor_for(user_id=user_id, workspace_id=ctx.workspace_id)
        if user_id
        else owner_actor(workspace_id=ctx.workspace_id)
    )
    path = get_settings().data_dir / "imports" / str(args["file"]).replace("/", "")
    result = import_csv(
        actor=actor,
        data=path.read_bytes(),
        mapping=args.get("mapping"),
        on_duplicate=args.get("on_duplicate", "update"),
        default_region=args.get("default_region", ""),
        progress=ctx.progress,
    )
    rejected_name = path.with_suffix(".rejected.csv")
    rejected_name.write_bytes(rejected_csv(result))
    return {
        **result.counts(),
        "rejected_rows": [[n, why] for n, why, _c in result.rejected[:REJECTED_LISTED]],
        "rejected_file": rejected_name.name,
    }
