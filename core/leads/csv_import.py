"""CSV import: preview, validate every row, add or update leads in bulk; the counts always add up."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, Text, cast, select, update

from core import background
from core.actor import Actor
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import AuditEvent, Contact, Lead, LeadTombstone, utcnow
from core.errors import InvalidInput
from core.leads import csv_read
from core.leads.bulk import (
    among,
    cycle_collector_paused,
    insert_rows,
    planned_per_call,
    refresh_statistics,
    reserve_ids,
)
from core.leads.csv_rows import PARALLEL_MIN_ROWS, ValidRow, check_chunks
from core.leads.csv_worker import Checkers

JOB_THRESHOLD_ROWS = 5000


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
        return {
            "rows_read": self.rows_read,
            "imported": self.imported,
            "updated": self.updated,
            "skipped": self.skipped,
            "rejected": len(self.rejected),
        }


ANALYZE_AFTER_ROWS = 1_000  # new leads from one import before the planner's statistics are refreshed
_MIN_ROW_BYTES = 40  # a row with a company, a website and an email; most are longer


def _processes() -> int:
    configured = get_settings().csv_import_processes
    return configured or os.cpu_count() or 1


def preview(data: bytes, *, sample_rows: int = 20) -> CsvPreview:
    """How the file reads: encoding, delimiter, headers, first rows and the guessed column mapping."""
    parsed = csv_read.parse(data)
    return CsvPreview(
        parsed.encoding,
        parsed.delimiter,
        parsed.headers,
        parsed.rows[:sample_rows],
        len(parsed.rows),
        csv_read.guess_mapping(parsed.headers),
    )


def rejected_csv(result: ImportResult) -> bytes:
    """The rejected rows as a CSV (original columns plus row and error) to fix and upload again."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*result.headers, "row", "error"])
    for row_no, reason, cells in result.rejected:
        writer.writerow([*(cells.get(h, "") for h in result.headers), row_no, reason])
    return out.getvalue().encode("utf-8-sig")


# The lead columns a re-import may fill in or change, read for every lead the file names again.
_CHANGEABLE = (Lead.name, Lead.website, Lead.industry, Lead.location, Lead.country)
_STORED = (Lead.id, Lead.domain, Lead.notes, cast(Lead.tags, Text), *_CHANGEABLE)
_LEADS: Table = Lead.__table__  # type: ignore[assignment]  # declared as a FromClause; it is the table
_CONTACTS: Table = Contact.__table__  # type: ignore[assignment]


@lru_cache(maxsize=4096)
def _stored_tags(text: str | None) -> tuple[str, ...]:
    """A lead's tags from their stored JSON (a few distinct lists recur across thousands of leads)."""
    return tuple(json.loads(text)) if text else ()


def _lead_changes(stored: Sequence[Any], row: ValidRow) -> dict[str, Any]:
    """What the row changes on the stored lead (``_STORED`` order): blank cells never erase."""
    _id, _domain, notes, tags_text, *current = stored
    wanted = (row.company if row.company != row.domain else "", row.website, row.industry, row.location, row.country)
    changes: dict[str, Any] = {
        column.key: value
        for column, old, value in zip(_CHANGEABLE, current, wanted, strict=True)
        if value and old != value
    }
    if row.notes and row.notes not in (notes or ""):
        changes["notes"] = f"{notes}\n{row.notes}".strip()
    tags = _stored_tags(tags_text)
    if row.tags and not set(row.tags) <= set(tags):
        changes["tags"] = list(dict.fromkeys([*tags, *row.tags]))
    return changes


def _contacts_for(row: ValidRow) -> list[tuple[str, str, bool]]:
    """(kind, normalised value, is a role address) of each contact the row gives."""
    out = []
    if row.email:
        out.append(("email", row.email, row.email_is_role))
    if row.phone:
        out.append(("phone", row.phone, False))
    return out


@dataclass
class _Company:
    """What the import has decided about one domain so far (its first row decides; later rows add contacts)."""

    first_row: int
    lead_id: int = 0
    existed: bool = False  # a lead before this import
    deleted: bool = False  # tombstoned: never brought back


class _Writer:
    """Saves checked rows chunk by chunk, remembering each company across chunks."""

    def __init__(self, actor: Actor, on_duplicate: str, result: ImportResult) -> None:
        self.actor, self.on_duplicate, self.result = actor, on_duplicate, result
        self.companies: dict[str, _Company] = {}

    def _first_rows(self, s: Any, chunk: list[tuple[int, ValidRow]], outcome: dict[int, str]) -> set[str]:
        """Decide the first row of each company not seen before: deleted, existing (update or skip) or new.

        Returns the domains whose leads this chunk created."""
        ws = self.actor.workspace_id
        fresh = list({row.domain for _n, row in chunk if row.domain not in self.companies})
        if not fresh:
            return set()
        dead = set(
            s.scalars(
                select(LeadTombstone.domain).where(
                    LeadTombstone.workspace_id == ws, among(s, LeadTombstone.domain, fresh)
                )
            )
        )
        existing = {
            lead.domain: lead
            for lead in s.execute(  # the columns an import may change, not whole leads
                select(*_STORED).where(Lead.workspace_id == ws, among(s, Lead.domain, fresh))
            )
        }
        new_rows: dict[str, ValidRow] = {}
        for row_no, row in chunk:
            if row.domain in self.companies:
                continue
            company = self.companies[row.domain] = _Company(first_row=row_no)
            if row.domain in dead:
                company.deleted = True
                outcome[row_no] = "skipped:deleted from this workspace before"
            elif (lead := existing.get(row.domain)) is not None:
                company.lead_id, company.existed = lead.id, True
                if self.on_duplicate == "skip":
                    outcome[row_no] = "skipped:already a lead"
                else:
                    changes = _lead_changes(lead, row)
                    if changes:
                        s.execute(update(Lead).where(Lead.id == lead.id).values(**changes))
                    outcome[row_no] = "updated" if changes else "pending"
            else:
                new_rows[row.domain] = row
                outcome[row_no] = "imported"
        if new_rows:
            self._insert_leads(s, new_rows)
        return set(new_rows)

    def _insert_leads(self, s: Any, new_rows: dict[str, ValidRow]) -> None:
        """Insert a lead for each new company and note its id."""
        ws, now = self.actor.workspace_id, utcnow()
        columns = ("domain", "website", "name", "industry", "location", "country", "notes", "tags")
        values = [
            (r.domain, r.website, r.company, r.industry, r.location, r.country, r.notes, list(r.tags))
            for r in new_rows.values()
        ]
        shared = {
            "workspace_id": ws,
            "source": "csv",
            "status": "new",
            "tech": [],
            "score_factors": [],
            "summary": "",
            "opening_hours": "",
            "created_at": now,
            "updated_at": now,
        }
        stored: Iterable[tuple[str, int]]
        if (ids := reserve_ids(s, _LEADS, len(values))) is not None:
            insert_rows(s, _LEADS, ("id", *columns), [(i, *v) for i, v in zip(ids, values, strict=True)], same=shared)
            stored = zip(new_rows, ids, strict=True)
        else:  # SQLite: the ids are known once the rows are in
            insert_rows(s, _LEADS, columns, values, same=shared)
            stored = s.execute(
                select(Lead.domain, Lead.id).where(Lead.workspace_id == ws, among(s, Lead.domain, new_rows))
            )
        for domain, lead_id in stored:
            self.companies[domain].lead_id = lead_id

    def save(self, uow: UnitOfWork, chunk: list[tuple[int, ValidRow]]) -> None:
        """Add or update the chunk's companies and add their new contacts; count every row once."""
        s = uow.session
        outcome: dict[int, str] = {}  # row number -> imported | updated | skipped:<reason> | pending
        created = self._first_rows(s, chunk, outcome)
        for row_no, row in chunk:
            if row_no in outcome:
                continue
            company = self.companies[row.domain]  # a later row of a company: only its contacts count
            if company.deleted:
                outcome[row_no] = "skipped:deleted from this workspace before"
            elif company.existed and self.on_duplicate == "skip":
                outcome[row_no] = "skipped:already a lead"
            else:
                outcome[row_no] = "pending"
        # contacts already stored, for the leads that had any before this chunk (a lead created now has none)
        older = {
            self.companies[row.domain].lead_id
            for row_no, row in chunk
            if row.domain not in created and not outcome[row_no].startswith("skipped")
        }
        have = (
            {
                (lead_id, kind, value)
                for lead_id, kind, value in s.execute(
                    select(Contact.lead_id, Contact.kind, Contact.normalised_value).where(
                        among(s, Contact.lead_id, older)
                    )
                )
            }
            if older
            else set()
        )
        contacts: list[tuple[int, str, str, str, str, str, bool]] = []  # the value is normalised already
        for row_no, row in chunk:
            if outcome[row_no].startswith("skipped"):
                continue
            company = self.companies[row.domain]
            lead_id, added = company.lead_id, False
            for kind, value, is_role in _contacts_for(row):
                if (lead_id, kind, value) not in have:
                    have.add((lead_id, kind, value))
                    contacts.append((lead_id, kind, value, value, row.person_name, row.person_title, is_role))
                    added = True
            if outcome[row_no] == "pending":
                outcome[row_no] = (
                    "updated"
                    if added
                    else ("skipped:unchanged" if company.first_row == row_no else "skipped:duplicate of an earlier row")
                )
        insert_rows(
            s,
            _CONTACTS,
            ("lead_id", "kind", "value", "normalised_value", "person_name", "person_title", "is_role_address"),
            contacts,
            same={
                "workspace_id": self.actor.workspace_id,
                "label": "csv",
                "verification": "unknown",
                "created_at": utcnow(),
            },
        )
        for state in outcome.values():
            if state == "imported":
                self.result.imported += 1
            elif state == "updated":
                self.result.updated += 1
            else:
                self.result.skipped += 1
                self.result.skip_reasons[state.split(":", 1)[1]] += 1


def import_csv(
    *,
    actor: Actor,
    data: bytes,
    mapping: dict[str, str | None] | None = None,
    on_duplicate: str = "update",
    default_region: str = "US",
    check_dns: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
) -> ImportResult:
    """Import a CSV into the actor's workspace; bad rows come back with reasons, nothing else is lost."""
    if on_duplicate not in ("update", "skip"):
        raise InvalidInput("On duplicate must be 'update' or 'skip'.")
    processes = _processes()
    # A file this big most likely has enough rows for the check workers: they start while it is parsed.
    ahead = processes > 1 and len(data) >= PARALLEL_MIN_ROWS * _MIN_ROW_BYTES
    with cycle_collector_paused(), Checkers(processes) if ahead else nullcontext() as checkers:
        parsed = csv_read.parse(data)
        mapping = mapping or csv_read.guess_mapping(parsed.headers)
        if not (mapping.get("website") or mapping.get("email")):
            raise InvalidInput("Map a website or an email column: LeadScout needs one to know which company a row is.")
        chunks = check_chunks(
            parsed.headers,
            parsed.rows,
            mapping,
            default_region=default_region,
            check_dns=check_dns,
            processes=processes,
            checkers=checkers,
        )
        result = _import_rows(actor, parsed, chunks, on_duplicate, progress, uow_factory)
    with uow_factory() as uow:
        if result.imported >= ANALYZE_AFTER_ROWS:
            refresh_statistics(uow.session, (_LEADS, _CONTACTS))
        uow.session.add(
            AuditEvent(
                workspace_id=actor.workspace_id,
                user_id=actor.user_id,
                action="lead.csv_import",
                target_type="lead",
                detail={**result.counts(), "encoding": result.encoding},
            )
        )
        uow.commit()
    return result


def _import_rows(
    actor: Actor,
    parsed: csv_read.ParsedCsv,
    chunks: Generator[list[tuple[int, ValidRow | str]], None, None],
    on_duplicate: str,
    progress: Callable[[int, int, str], None] | None,
    uow_factory: Callable[[], UnitOfWork],
) -> ImportResult:
    result = ImportResult(
        rows_read=len(parsed.rows), encoding=parsed.encoding, delimiter=parsed.delimiter, headers=parsed.headers
    )
    writer = _Writer(actor, on_duplicate, result)
    done = 0
    # Big files are checked ahead in worker processes while this process saves each checked chunk.
    with closing(chunks):
        for checked in chunks:
            valid: list[tuple[int, ValidRow]] = []
            for number, outcome in checked:
                if isinstance(outcome, str):
                    row = parsed.rows[number - 1]
                    cells = {h: (row[i] if i < len(row) else "") for i, h in enumerate(parsed.headers)}
                    result.rejected.append((number, outcome, cells))
                else:
                    valid.append((number, outcome))
            if valid:
                with uow_factory() as uow, planned_per_call(uow.session):
                    writer.save(uow, valid)
                    uow.commit()
            done += len(checked)
            if progress:
                progress(done, result.rows_read, f"Imported {done:,} of {result.rows_read:,} rows")
    return result


def submit_import(
    *,
    actor: Actor,
    data: bytes,
    mapping: dict[str, str | None],
    on_duplicate: str = "update",
    default_region: str = "US",
    runner: background.Runner | None = None,
) -> int:
    """Run a big import as a job (the file is kept in the data folder); returns the job id."""
    folder = get_settings().data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{actor.workspace_id}-{uuid.uuid4().hex}.csv"
    path.write_bytes(data)
    return background.submit(
        kind=background.kinds.IMPORT_CSV,
        actor=actor,
        args={"file": path.name, "mapping": mapping, "on_duplicate": on_duplicate, "default_region": default_region},
        runner=runner,
    )
