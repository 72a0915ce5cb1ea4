"""CSV export of the current filter or selection, with formula injection neutralised (core.csv_safe)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from operator import itemgetter

from sqlalchemy import Text, cast, select, type_coerce

from core.actor import Actor
from core.csv_safe import formula_safe_writer
from core.db import UnitOfWork
from core.db.models import Contact, Lead, User
from core.errors import InvalidInput
from core.leads.bulk import among, cycle_collector_paused
from core.leads.query import LeadFilter, filter_conditions

COLUMNS = (
    "domain",
    "company",
    "website",
    "email",
    "phone",
    "contact_name",
    "title",
    "industry",
    "location",
    "country",
    "city",
    "score",
    "status",
    "owner",
    "tags",
    "tech",
    "notes",
    "summary",
    "source",
    "created_at",
)
DEFAULT_COLUMNS = (
    "company",
    "website",
    "email",
    "phone",
    "contact_name",
    "title",
    "industry",
    "location",
    "country",
    "city",
    "score",
    "status",
    "tags",
    "notes",
)
_NONE: dict[str, str] = {}
BATCH = 5000


def _contacts(uow: UnitOfWork, workspace_id: int, lead_ids: list[int]) -> dict[int, dict[str, str]]:
    """The first email and phone (people before role addresses) and the first named person of each lead."""
    out: dict[int, dict[str, str]] = {}
    low, high = lead_ids[0], lead_ids[-1]  # ascending
    # A dense page (the whole table, a broad filter) reads its id range off the index; a sparse one names its ids.
    # Contacts of leads outside the page that a range brings along are never looked up.
    wanted = (
        Contact.lead_id.between(low, high)
        if high - low < 2 * len(lead_ids)
        else among(uow.session, Contact.lead_id, lead_ids)
    )
    rows = uow.session.connection().execute(
        select(Contact.lead_id, Contact.kind, Contact.value, Contact.person_name, Contact.person_title)
        .where(wanted, Contact.workspace_id == workspace_id, Contact.kind.in_(("email", "phone", "person")))
        .order_by(Contact.lead_id, Contact.is_role_address, Contact.id)
    )
    for lead_id, kind, value, person, title in rows.all():
        entry = out.setdefault(lead_id, {})
        if kind != "person":  # a name-only contact (a person the site names without an address) gives a name only
            entry.setdefault(kind, value)
        if person and "contact_name" not in entry:
            entry["contact_name"], entry["title"] = person, title
    return out


class _Lists:
    """A JSON list column as "a, b" text, decoded once per distinct value (tags and technologies repeat a lot)."""

    def __init__(self) -> None:
        self.seen: dict[str | None, str] = {None: ""}

    def __call__(self, raw: str | None) -> str:
        try:
            return self.seen[raw]
        except KeyError:
            items = json.loads(raw) if raw else []
            self.seen[raw] = text = ", ".join(str(item) for item in items) if isinstance(items, list) else ""
            return text


def _timestamp(raw: datetime | str) -> str:
    """ISO 8601 in UTC from a stored timestamp (SQLite keeps UTC text, PostgreSQL's driver gives a datetime)."""
    if type(raw) is str and len(raw) == 26 and raw[10] == " " and raw[19] == ".":
        # SQLite's "YYYY-MM-DD HH:MM:SS.ffffff" (always UTC), rewritten as datetime.isoformat() would
        # write it, without parsing it: a fifth of a 100k-row export's own time.
        return f"{raw[:10]}T{raw[11:19]}{'' if raw.endswith('000000') else raw[19:]}+00:00"
    value = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()


def _rows(uow: UnitOfWork, actor: Actor, flt: LeadFilter, columns: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    dialect = uow.session.get_bind().dialect.name
    # The list and timestamp columns are read as the database stores them and converted here, once per
    # distinct value, instead of through each row's type processing (a third of the export's time).
    query = (
        select(
            Lead.id,
            Lead.domain,
            Lead.name,
            Lead.website,
            Lead.industry,
            Lead.location,
            Lead.country,
            Lead.city,
            Lead.score,
            Lead.status,
            User.email,
            cast(Lead.tags, Text),
            cast(Lead.tech, Text),
            Lead.notes,
            Lead.summary,
            Lead.source,
            type_coerce(Lead.created_at, Text),
        )
        .outerjoin(User, User.id == Lead.owner_id)
        .where(*filter_conditions(actor.workspace_id, flt, dialect))
        .order_by(Lead.id)
    )
    as_text = _Lists()
    picks = [COLUMNS.index(col) for col in columns]
    pick = itemgetter(*picks) if len(picks) > 1 else (lambda row: (row[picks[0]],))
    last_id = 0
    connection = uow.session.connection()
    while True:  # keyset pages: constant memory and no long-lived cursor
        batch = connection.execute(query.where(Lead.id > last_id).limit(BATCH)).all()
        if not batch:
            return
        last_id = batch[-1][0]
        contacts = _contacts(uow, actor.workspace_id, [r[0] for r in batch])
        for (
            lead_id,
            domain,
            name,
            website,
            industry,
            location,
            country,
            city,
            score,
            status,
            owner,
            tags,
            tech,
            notes,
            summary,
            source,
            created_at,
        ) in batch:
            c = contacts.get(lead_id, _NONE)
            row = (
                domain,
                name,
                website,
                c.get("email", ""),
                c.get("phone", ""),
                c.get("contact_name", ""),
                c.get("title", ""),
                industry,
                location,
                country,
                city,
                "" if score is None else f"{score:g}",
                status,
                owner or "",
                as_text(tags),
                as_text(tech),
                notes,
                summary,
                source,
                _timestamp(created_at),
            )
            yield pick(row)  # the writer neutralises formula cells


def export_csv(
    *,
    actor: Actor,
    flt: LeadFilter,
    columns: tuple[str, ...] | list[str] = DEFAULT_COLUMNS,
    bom: bool = False,
    uow: UnitOfWork | None = None,
) -> bytes:
    """The matching leads as UTF-8 CSV bytes (a BOM first when asked, for Excel)."""
    actor.require_permission("lead.export")
    chosen = tuple(columns)
    unknown = [c for c in chosen if c not in COLUMNS]
    if unknown or not chosen:
        raise InvalidInput(f"Choose export columns from: {', '.join(COLUMNS)}.")
    out = io.StringIO()
    writer = formula_safe_writer(out, lineterminator="\r\n")
    writer.writerow(chosen)
    uow = uow or UnitOfWork()
    with uow, cycle_collector_paused():
        writer.writerows(_rows(uow, actor, flt, chosen))
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def export_csv_stream(
    *,
    actor: Actor,
    flt: LeadFilter,
    columns: tuple[str, ...] | list[str] = DEFAULT_COLUMNS,
    bom: bool = False,
    rows_per_chunk: int = 1000,
) -> Iterator[bytes]:
    """The same CSV as ``export_csv``, in chunks of ``rows_per_chunk`` rows (a response streams them): the
    permission and the columns are checked now, the leads are read batch by batch as the chunks are taken."""
    actor.require_permission("lead.export")
    chosen = tuple(columns)
    unknown = [c for c in chosen if c not in COLUMNS]
    if unknown or not chosen:
        raise InvalidInput(f"Choose export columns from: {', '.join(COLUMNS)}.")
    return _chunks(actor, flt, chosen, bom, rows_per_chunk)


def _chunks(actor: Actor, flt: LeadFilter, columns: tuple[str, ...], bom: bool, size: int) -> Iterator[bytes]:
    out = io.StringIO()
    writer = formula_safe_writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    pending = 0
    with UnitOfWork() as uow:
        for row in _rows(uow, actor, flt, columns):
            writer.writerow(row)  # the writer neutralises formula cells
            pending += 1
            if pending >= size:
                yield _take(out, bom)
                bom, pending = False, 0
    yield _take(out, bom)


def _take(out: io.StringIO, bom: bool) -> bytes:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
