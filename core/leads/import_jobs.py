"""CSV imports as jobs, for callers that cannot map columns by hand (the API): the page's guessed mapping, the
background import of ``csv_import``, then the job's counts and its rejected rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import background
from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import Job
from core.errors import InvalidInput, NotFound
from core.leads import csv_import
from core.leads.csv_read import FIELDS

IMPORT_CSV = background.kinds.IMPORT_CSV


@dataclass(frozen=True)
class ImportView:
    """A background import: the job's state, the mapping it used, then its counts and the first rejected rows."""

    id: int
    status: str
    progress_done: int
    progress_total: int | None
    message: str
    error: str
    created_at: datetime
    finished_at: datetime | None
    mapping: dict[str, str | None]
    on_duplicate: str
    counts: dict[str, int] | None
    rejected_rows: tuple[tuple[int, str], ...]


def start_import_job(
    *,
    actor: Actor,
    data: bytes,
    mapping: dict[str, str | None] | None = None,
    on_duplicate: str = "update",
    default_region: str = "",
    runner: background.Runner | None = None,
) -> int:
    """Check the file and queue its import as a job, with the columns guessed as the page guesses them when no
    mapping is given; returns the job id. A file LeadScout cannot read, or with no website or email column, is
    refused here with the reason, before a job is made."""
    actor.require_permission("lead.import")
    if on_duplicate not in ("update", "skip"):
        raise InvalidInput("On duplicate must be 'update' or 'skip'.")
    region = csv_import.phone_region(default_region)
    read = csv_import.preview(data, sample_rows=0)
    chosen = dict(read.mapping) if mapping is None else _checked_mapping(mapping, read.headers)
    if not (chosen.get("website") or chosen.get("email")):
        raise InvalidInput(
            "No website or email column was found (headers: "
            + ", ".join(read.headers[:20])
            + "); LeadScout needs one to know which company a row is."
        )
    if read.rows == 0:
        raise InvalidInput("The file has a header row but no data rows.")
    return csv_import.submit_import(
        actor=actor, data=data, mapping=chosen, on_duplicate=on_duplicate, default_region=region, runner=runner
    )


def _checked_mapping(mapping: dict[str, str | None], headers: tuple[str, ...]) -> dict[str, str | None]:
    unknown_fields = sorted(set(mapping) - set(FIELDS))
    if unknown_fields:
        raise InvalidInput(f"Unknown field(s) {', '.join(unknown_fields)}; map from: {', '.join(FIELDS)}.")
    missing = sorted({h for h in mapping.values() if h} - set(headers))
    if missing:
        raise InvalidInput(f"The file has no column {', '.join(missing)}.")
    return {field: mapping.get(field) for field in FIELDS}


def get_import_or_raise(*, actor: Actor, import_id: int) -> ImportView:
    """A background import of the actor's workspace; ``NotFound`` for any other job or workspace."""
    actor.require_permission("lead.import")
    with UnitOfWork() as uow:
        row = uow.session.get(Job, import_id)
        if row is None or row.workspace_id != actor.workspace_id or row.kind != IMPORT_CSV.name:
            raise NotFound(f"Import {import_id} does not exist in this workspace.")
        job, args = background.view_of(row), dict(row.args or {})
    result: dict[str, Any] = job.result or {}
    counts = (
        {k: int(result.get(k, 0)) for k in ("rows_read", "imported", "updated", "skipped", "rejected")}
        if job.status == "succeeded"
        else None
    )
    return ImportView(
        id=job.id,
        status=job.status,
        progress_done=job.progress_done,
        progress_total=job.progress_total,
        message=job.message,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        mapping=dict(args.get("mapping") or {}),
        on_duplicate=str(args.get("on_duplicate", "update")),
        counts=counts,
        rejected_rows=tuple((int(n), str(why)) for n, why in result.get("rejected_rows", [])),
    )


def rejected_rows_csv(*, actor: Actor, import_id: int) -> bytes:
    """The rejected rows of a finished import as CSV (original columns, row, error); ``NotFound`` when it
    rejected none or is not the workspace's, ``InvalidInput`` while it is still running."""
    actor.require_permission("lead.import")
    view = get_import_or_raise(actor=actor, import_id=import_id)
    if view.status != "succeeded":
        raise InvalidInput(f"Import {import_id} is {view.status}; its rejected rows are ready when it has succeeded.")
    data = csv_import.rejected_file_of_job(actor=actor, job_id=import_id)
    if data is None:
        raise NotFound(f"Import {import_id} rejected no rows.")
    return data
