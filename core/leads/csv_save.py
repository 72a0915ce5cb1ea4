"""Saving checked CSV rows chunk by chunk: new leads in bulk, re-imported ones updated, contacts added.

Each company's first row decides (deleted: never brought back; existing: updated or skipped; else
new); later rows of the same company only add contacts. Blank cells never erase stored values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, Text, cast, select, update

from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import Contact, Lead, LeadTombstone, utcnow
from core.leads.bulk import among, insert_rows, reserve_ids
from core.leads.csv_rows import ValidRow
from core.leads.models import ImportResult
from core.webhooks import events as webhooks

# The lead columns a re-import may fill in or change, read for every lead the file names again.
_CHANGEABLE = (Lead.name, Lead.website, Lead.industry, Lead.location, Lead.country, Lead.city)
_STORED = (Lead.id, Lead.domain, Lead.notes, cast(Lead.tags, Text), *_CHANGEABLE)
LEADS_TABLE: Table = Lead.__table__  # type: ignore[assignment]  # declared as a FromClause; it is the table
CONTACTS_TABLE: Table = Contact.__table__  # type: ignore[assignment]


@lru_cache(maxsize=4096)
def _stored_tags(text: str | None) -> tuple[str, ...]:
    """A lead's tags from their stored JSON (a few distinct lists recur across thousands of leads)."""
    return tuple(json.loads(text)) if text else ()


def _lead_changes(stored: Sequence[Any], row: ValidRow) -> dict[str, Any]:
    """What the row changes on the stored lead (``_STORED`` order): blank cells never erase."""
    _id, _domain, notes, tags_text, *current = stored
    wanted = (
        row.company if row.company != row.domain else "",
        row.website,
        row.industry,
        row.location,
        row.country,
        row.city,
    )
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


class ChunkWriter:
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
        columns = ("domain", "website", "name", "industry", "location", "country", "city", "notes", "tags")
        values = [
            (r.domain, r.website, r.company, r.industry, r.location, r.country, r.city, r.notes, list(r.tags))
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
        if (ids := reserve_ids(s, LEADS_TABLE, len(values))) is not None:
            insert_rows(
                s, LEADS_TABLE, ("id", *columns), [(i, *v) for i, v in zip(ids, values, strict=True)], same=shared
            )
            stored = zip(new_rows, ids, strict=True)
        else:  # SQLite: the ids are known once the rows are in
            insert_rows(s, LEADS_TABLE, columns, values, same=shared)
            stored = s.execute(
                select(Lead.domain, Lead.id).where(Lead.workspace_id == ws, among(s, Lead.domain, new_rows))
            )
        created = []
        for domain, lead_id in stored:
            self.companies[domain].lead_id = lead_id
            row = new_rows[domain]
            created.append(
                {
                    "id": lead_id,
                    "domain": domain,
                    "website": row.website,
                    "name": row.company,
                    "status": "new",
                    "source": "csv",
                    "campaign_id": None,
                    "score": None,
                }
            )
        webhooks.emit_many(s, workspace_id=ws, event="lead.created", items=created)

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
        # (lead, kind, value) -> whether SMS consent is recorded, for contacts stored before this chunk
        have: dict[tuple[int, str, str], bool] = (
            {
                (lead_id, kind, value): consent_at is not None
                for lead_id, kind, value, consent_at in s.execute(
                    select(Contact.lead_id, Contact.kind, Contact.normalised_value, Contact.sms_consent_at).where(
                        among(s, Contact.lead_id, older)
                    )
                )
            }
            if older
            else {}
        )
        now = utcnow()
        contacts: list[tuple[Any, ...]] = []  # the value is normalised already
        consent_changes: dict[tuple[int, str], tuple[Any, str]] = {}  # (lead, phone) -> (consent time, source)
        for row_no, row in chunk:
            if outcome[row_no].startswith("skipped"):
                continue
            company = self.companies[row.domain]
            lead_id, added = company.lead_id, False
            for kind, value, is_role in _contacts_for(row):
                consent = row.sms_consent if kind == "phone" else None
                key = (lead_id, kind, value)
                if key not in have:
                    have[key] = bool(consent)
                    contacts.append(
                        (lead_id, kind, value, value, row.person_name, row.person_title, is_role)
                        + ((now, row.consent_source) if consent else (None, ""))
                    )
                    added = True
                elif consent is not None and have[key] != consent:  # a re-import records or withdraws consent
                    have[key] = consent
                    consent_changes[(lead_id, value)] = (now, row.consent_source) if consent else (None, "")
                    added = True
            if outcome[row_no] == "pending":
                outcome[row_no] = (
                    "updated"
                    if added
                    else ("skipped:unchanged" if company.first_row == row_no else "skipped:duplicate of an earlier row")
                )
        insert_rows(
            s,
            CONTACTS_TABLE,
            (
                "lead_id",
                "kind",
                "value",
                "normalised_value",
                "person_name",
                "person_title",
                "is_role_address",
                "sms_consent_at",
                "sms_consent_source",
            ),
            contacts,
            same={
                "workspace_id": self.actor.workspace_id,
                "label": "csv",
                "verification": "unknown",
                "verification_reasons": [],
                "created_at": now,
            },
        )
        for (lead_id, value), (at, source) in consent_changes.items():
            s.execute(
                update(Contact)
                .where(Contact.lead_id == lead_id, Contact.kind == "phone", Contact.normalised_value == value)
                .values(sms_consent_at=at, sms_consent_source=source)
            )
        for state in outcome.values():
            if state == "imported":
                self.result.imported += 1
            elif state == "updated":
                self.result.updated += 1
            else:
                self.result.skipped += 1
                self.result.skip_reasons[state.split(":", 1)[1]] += 1


IMPORTED_TABLES = (LEADS_TABLE, CONTACTS_TABLE)
