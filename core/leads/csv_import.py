"""CSV import: preview, validate every row, add or update leads in bulk; the counts always add up."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from core import jobs
from core.auth.models import Actor
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import AuditEvent, Contact, Lead, LeadTombstone, utcnow
from core.errors import InvalidInput
from core.leads import csv_read
from core.leads.bulk import insert_rows
from core.leads.csv_rows import ValidRow, validate_rows

IMPORT_JOB = "leads.import_csv"
JOB_THRESHOLD_ROWS = 5000
CHUNK = 2000


@dataclass(frozen=True)
class CsvPreview:
    """What the user checks before importing: how the file was read, the first rows, the guessed mapping."""

    encoding: str
    delimiter: str
    headers: tuple[str, ...]
    sample: tuple[tuple[str, ...], ...]
    rows: int
    mapping: dict[str, str | None]


@dataclass
class ImportResult:
    """imported + updated + skipped + rejected == rows_read, always."""

    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)  # (row number, reason, cells)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    encoding: str = ""
    delimiter: str = ","
    headers: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """The four counts and the total, for JSON output."""
        return {"rows_read": self.rows_read, "imported": self.imported, "updated": self.updated,
                "skipped": self.skipped, "rejected": len(self.rejected)}


def preview(data: bytes, *, sample_rows: int = 20) -> CsvPreview:
    """How the file reads: encoding, delimiter, headers, first rows and the guessed column mapping."""
    parsed = csv_read.parse(data)
    return CsvPreview(parsed.encoding, parsed.delimiter, parsed.headers, parsed.rows[:sample_rows], len(parsed.rows),
                      csv_read.guess_mapping(parsed.headers))


def rejected_csv(result: ImportResult) -> bytes:
    """The rejected rows as a CSV (original columns plus row and error) to fix and upload again."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*result.headers, "row", "error"])
    for row_no, reason, cells in result.rejected:
        writer.writerow([*(cells.get(h, "") for h in result.headers), row_no, reason])
    return out.getvalue().encode("utf-8-sig")


def _lead_changes(lead: Any, row: ValidRow) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for column, value in (("name", row.company if row.company != row.domain else ""), ("website", row.website),
                          ("industry", row.industry), ("location", row.location), ("country", row.country)):
        if value and getattr(lead, column) != value:
            changes[column] = value
    if row.notes and row.notes not in (lead.notes or ""):
        changes["notes"] = f"{lead.notes}\n{row.notes}".strip()
    tags = list(dict.fromkeys([*(lead.tags or []), *row.tags]))
    if tags != list(lead.tags or []):
        changes["tags"] = tags
    return changes


def _contacts_for(row: ValidRow) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    person = {"person_name": row.person_name, "person_title": row.person_title}
    if row.email:
        out.append(("email", row.email, {**person, "is_role_address": row.email_is_role}))
    if row.phone:
        out.append(("phone", row.phone, {**person, "is_role_address": False}))
    return out


def _apply_chunk(uow: UnitOfWork, actor: Actor, chunk: list[tuple[int, ValidRow]], on_duplicate: str, result: ImportResult) -> None:
    s = uow.session
    ws = actor.workspace_id
    domains = list({row.domain for _n, row in chunk})
    dead = set(s.scalars(select(LeadTombstone.domain).where(LeadTombstone.workspace_id == ws, LeadTombstone.domain.in_(domains))))
    existing = {lead.domain: lead for lead in s.scalars(select(Lead).where(Lead.workspace_id == ws, Lead.domain.in_(domains)))}
    first_row: dict[str, int] = {}
    new_rows: dict[str, ValidRow] = {}
    outcome: dict[int, str] = {}  # row number -> imported | updated | skipped:<reason> | pending
    for row_no, row in chunk:
        if row.domain in dead:
            outcome[row_no] = "skipped:deleted from this workspace before"
        elif row.domain in first_row:
            outcome[row_no] = "pending"  # a later row of the same company: only its contacts count
        elif row.domain in existing:
            first_row[row.domain] = row_no
            if on_duplicate == "skip":
                outcome[row_no] = "skipped:already a lead"
            else:
                changes = _lead_changes(existing[row.domain], row)
                if changes:
                    s.execute(update(Lead).where(Lead.id == existing[row.domain].id).values(**changes))
                outcome[row_no] = "updated" if changes else "pending"
        else:
            first_row[row.domain] = row_no
            new_rows[row.domain] = row
            outcome[row_no] = "imported"
    if new_rows:
        now = utcnow()
        insert_rows(s, Lead.__table__, [  # type: ignore[arg-type]
            {"workspace_id": ws, "domain": r.domain, "website": r.website, "name": r.company, "industry": r.industry,
             "location": r.location, "country": r.country, "notes": r.notes, "tags": list(r.tags), "source": "csv",
             "status": "new", "tech": [], "score_factors": [], "summary": "", "opening_hours": "",
             "created_at": now, "updated_at": now} for r in new_rows.values()])
        ids = dict(s.execute(select(Lead.domain, Lead.id).where(Lead.workspace_id == ws, Lead.domain.in_(list(new_rows)))).all())
    else:
        ids = {}
    ids.update({d: lead.id for d, lead in existing.items()})
    have = {(lead_id, kind, value) for lead_id, kind, value in s.execute(
        select(Contact.lead_id, Contact.kind, Contact.normalised_value).where(Contact.lead_id.in_(list(ids.values()))))}
    contacts: list[dict[str, Any]] = []
    for row_no, row in chunk:
        if outcome[row_no].startswith("skipped") or (on_duplicate == "skip" and row.domain in existing):
            if outcome[row_no] == "pending":
                outcome[row_no] = "skipped:already a lead"
            continue
        lead_id = ids[row.domain]
        added = False
        for kind, value, extra in _contacts_for(row):
            if (lead_id, kind, value) not in have:
                have.add((lead_id, kind, value))
                contacts.append({"workspace_id": ws, "lead_id": lead_id, "kind": kind, "value": value,
                                 "normalised_value": value, "label": "csv", "verification": "unknown",
                                 "created_at": utcnow(), **extra})
                added = True
        if outcome[row_no] == "pending":
            outcome[row_no] = "updated" if added else (
                "skipped:duplicate of an earlier row" if first_row.get(row.domain) != row_no else "skipped:unchanged")
    insert_rows(s, Contact.__table__, contacts)  # type: ignore[arg-type]
    for state in outcome.values():
        if state == "imported":
            result.imported += 1
        elif state == "updated":
            result.updated += 1
        else:
            result.skipped += 1
            result.skip_reasons[state.split(":", 1)[1]] += 1


def import_csv(
    *,
    actor: Actor,
    data: bytes,
    mapping: dict[str, str | None] | None = None,
    on_duplicate: str = "update",
    default_region: str = "US",
    check_dns: bool = False,
    progress: Callable[[int, int], None] | None = None,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
) -> ImportResult:
    """Import a CSV into the actor's workspace; bad rows come back with reasons, nothing else is lost."""
    if on_duplicate not in ("update", "skip"):
        raise InvalidInput("On duplicate must be 'update' or 'skip'.")
    parsed = csv_read.parse(data)
    mapping = mapping or csv_read.guess_mapping(parsed.headers)
    if not (mapping.get("website") or mapping.get("email")):
        raise InvalidInput("Map a website or an email column: LeadScout needs one to know which company a row is.")
    result = ImportResult(rows_read=len(parsed.rows), encoding=parsed.encoding, delimiter=parsed.delimiter, headers=parsed.headers)
    valid: list[tuple[int, ValidRow]] = []
    mapped = [(n, csv_read.row_values(parsed.headers, row, mapping)) for n, row in enumerate(parsed.rows, start=1)]
    for number, outcome in validate_rows(mapped, default_region=default_region, check_dns=check_dns):
        if isinstance(outcome, str):
            row = parsed.rows[number - 1]
            cells = {h: (row[i] if i < len(row) else "") for i, h in enumerate(parsed.headers)}
            result.rejected.append((number, outcome, cells))
        else:
            valid.append((number, outcome))
    # rows of one company stay in one chunk, so "the same company twice" is decided in one place
    valid.sort(key=lambda item: (item[1].domain, item[0]))
    start = 0
    while start < len(valid):
        end = min(start + CHUNK, len(valid))
        while end < len(valid) and valid[end][1].domain == valid[end - 1][1].domain:
            end += 1
        with uow_factory() as uow:
            _apply_chunk(uow, actor, valid[start:end], on_duplicate, result)
            uow.commit()
        start = end
        if progress:
            progress(start, len(valid))
    with uow_factory() as uow:
        uow.session.add(AuditEvent(workspace_id=actor.workspace_id, user_id=actor.user_id, action="lead.csv_import",
                                   target_type="lead", detail={**result.counts(), "encoding": result.encoding}))
        uow.commit()
    return result


def submit_import(*, actor: Actor, data: bytes, mapping: dict[str, str | None], on_duplicate: str = "update",
                  default_region: str = "US") -> int:
    """Run a big import as a job (the file is kept in the data folder); returns the job id."""
    folder = get_settings().data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{actor.workspace_id}-{uuid.uuid4().hex}.csv"
    path.write_bytes(data)
    return jobs.submit(kind=IMPORT_JOB, actor=actor, args={
        "file": path.name, "mapping": mapping, "on_duplicate": on_duplicate, "default_region": default_region})


def import_csv_job(ctx: jobs.JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Job: import a stored file; running it twice changes nothing more (updates are idempotent)."""
    from core.auth.admin import owner_actor
    from core.auth.service import actor_for
    from core.db.models import Job

    with UnitOfWork() as uow:
        job = uow.session.get(Job, ctx.job_id)
        user_id = job.created_by if job else None
    assert ctx.workspace_id is not None
    actor = actor_for(user_id=user_id, workspace_id=ctx.workspace_id) if user_id else owner_actor(workspace_id=ctx.workspace_id)
    path = get_settings().data_dir / "imports" / str(args["file"]).replace("/", "")
    result = import_csv(actor=actor, data=path.read_bytes(), mapping=args.get("mapping"),
                        on_duplicate=args.get("on_duplicate", "update"), default_region=args.get("default_region", "US"),
                        progress=lambda d, t: ctx.progress(d, t, f"Imported {d} of {t} valid rows"))
    rejected_name = path.with_suffix(".rejected.csv")
    rejected_name.write_bytes(rejected_csv(result))
    return {**result.counts(), "rejected_rows": [[n, why] for n, why, _c in result.rejected[:500]],
            "rejected_file": rejected_name.name}
