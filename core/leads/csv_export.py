"""CSV export of the current filter or selection, with formula injection neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select

from core.auth.models import Actor
from core.db import UnitOfWork
from core.db.models import Contact, Lead, User
from core.errors import InvalidInput
from core.leads.query import LeadFilter, filter_conditions

COLUMNS = ("domain", "company", "website", "email", "phone", "contact_name", "title", "industry", "location",
           "country", "score", "status", "owner", "tags", "tech", "notes", "summary", "source", "created_at")
DEFAULT_COLUMNS = ("company", "website", "email", "phone", "contact_name", "title", "industry", "location", "country",
                   "score", "status", "tags", "notes")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
_NONE: dict[str, str] = {}
BATCH = 5000


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _contacts(uow: UnitOfWork, lead_ids: list[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    rows = uow.session.execute(
        select(Contact.lead_id, Contact.kind, Contact.value, Contact.person_name, Contact.person_title)
        .where(Contact.lead_id.in_(lead_ids), Contact.kind.in_(("email", "phone")))
        .order_by(Contact.lead_id, Contact.is_role_address, Contact.id)
    )
    for lead_id, kind, value, person, title in rows:
        entry = out.setdefault(lead_id, {})
        entry.setdefault(kind, value)
        if person and "contact_name" not in entry:
            entry["contact_name"], entry["title"] = person, title
    return out


def _rows(uow: UnitOfWork, actor: Actor, flt: LeadFilter, columns: tuple[str, ...]) -> Iterator[list[str]]:
    dialect = uow.session.get_bind().dialect.name
    query = (
        select(Lead.id, Lead.domain, Lead.name, Lead.website, Lead.industry, Lead.location, Lead.country, Lead.score,
               Lead.status, User.email, Lead.tags, Lead.tech, Lead.notes, Lead.summary, Lead.source, Lead.created_at)
        .outerjoin(User, User.id == Lead.owner_id)
        .where(*filter_conditions(actor.workspace_id, flt, dialect))
        .order_by(Lead.id)
    )
    want_lists = "tags" in columns or "tech" in columns
    last_id = 0
    while True:  # keyset pages: constant memory and no long-lived cursor
        batch = uow.session.execute(query.where(Lead.id > last_id).limit(BATCH)).all()
        if not batch:
            return
        last_id = batch[-1][0]
        contacts = _contacts(uow, [r[0] for r in batch])
        for r in batch:
            c = contacts.get(r[0], _NONE)
            values = {
                "domain": r[1], "company": r[2], "website": r[3], "industry": r[4], "location": r[5], "country": r[6],
                "score": "" if r[7] is None else f"{r[7]:g}", "status": r[8], "owner": r[9] or "", "notes": r[12],
                "summary": r[13], "source": r[14], "created_at": r[15].isoformat(), "email": c.get("email", ""),
                "phone": c.get("phone", ""), "contact_name": c.get("contact_name", ""), "title": c.get("title", ""),
            }
            if want_lists:
                values["tags"], values["tech"] = ", ".join(r[10] or ()), ", ".join(r[11] or ())
            yield [("'" + v) if v and v[0] in _FORMULA_FIRST else v for v in (values[col] or "" for col in columns)]


def export_csv(
    *, actor: Actor, flt: LeadFilter, columns: tuple[str, ...] | list[str] = DEFAULT_COLUMNS, bom: bool = False,
    uow: UnitOfWork | None = None,
) -> bytes:
    """The matching leads as UTF-8 CSV bytes (a BOM first when asked, for Excel)."""
    chosen = tuple(columns)
    unknown = [c for c in chosen if c not in COLUMNS]
    if unknown or not chosen:
        raise InvalidInput(f"Choose export columns from: {', '.join(COLUMNS)}.")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(chosen)
    uow = uow or UnitOfWork()
    with uow:
        writer.writerows(_rows(uow, actor, flt, chosen))
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")
