"""What the leads screens show: read views of a lead and its surroundings (frozen dataclasses)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.db.models import LEAD_STATUSES as LEAD_STATUSES  # the statuses a lead moves through, for pages and the API
from core.db.models.leads import VERIFICATION_STATUSES

ADDRESS_STATES = VERIFICATION_STATUSES  # an email contact's address check before sending (core/outreach/verify.py)


@dataclass(frozen=True)
class EvidenceView:
    """One stored fact: the field, its value, the page and the snippet behind it."""

    id: int
    field: str
    value: str
    source_url: str
    snippet: str


@dataclass(frozen=True)
class ContactView:
    """A way to reach the lead, with who it is and how sure we are."""

    id: int
    kind: str
    value: str
    label: str
    person_name: str
    person_title: str
    is_role_address: bool
    verification: str
    verification_reasons: tuple[str, ...] = ()  # why the address check said so
    verified_at: datetime | None = None  # when it ran (None: never)


@dataclass(frozen=True)
class PersonView:
    """A person the lead's site names: role (normalised) and title as written, the email shown, the evidence."""

    contact_id: int
    name: str
    role: str
    title: str
    email: str
    source_url: str
    snippet: str


@dataclass(frozen=True)
class HitView:
    """The search result that found the lead."""

    query: str
    rank: int
    url: str
    title: str
    snippet: str
    run_id: int


@dataclass(frozen=True)
class CrawlView:
    """One request of the crawl log."""

    url: str
    status_code: int | None
    bytes: int
    robots: str
    error: str
    fetched_at: datetime


@dataclass(frozen=True)
class MessageView:
    """One outbox message to the lead."""

    id: int
    channel: str
    step: int
    status: str
    subject: str
    to: str
    sent_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class RubricRef:
    """A rubric as people know it: its strategy version number and campaign (version id 0: the default one)."""

    version_id: int
    number: int | None = None  # None: that strategy version has since been deleted
    campaign_id: int | None = None
    campaign: str = ""

    def label(self, *, with_campaign: bool = False, prefixed: bool = False) -> str:
        """ "v2" ("rubric v2" prefixed), or "v2 of “Roasters in Leeds”" when rubrics of two campaigns are compared."""
        if self.version_id == 0:
            return "the default rubric (reachable contact only)"
        if self.number is None:
            return "a deleted strategy version"
        text = f"v{self.number} of “{self.campaign}”" if with_campaign else f"v{self.number}"
        return f"rubric {text}" if prefixed else text


@dataclass(frozen=True)
class LeadDetail:
    """Everything the detail panel shows about one lead."""

    id: int
    domain: str
    name: str
    website: str
    summary: str
    industry: str
    location: str
    country: str
    city: str
    opening_hours: str
    tech: tuple[str, ...]
    score: float | None
    score_factors: tuple[dict[str, Any], ...]
    rubric_version: int | None
    status: str
    owner_id: int | None
    owner: str
    tags: tuple[str, ...]
    notes: str
    source: str
    campaign_id: int | None
    created_at: datetime
    updated_at: datetime
    evidence: tuple[EvidenceView, ...]
    contacts: tuple[ContactView, ...]
    hits: tuple[HitView, ...]
    crawl_log: tuple[CrawlView, ...]
    messages: tuple[MessageView, ...]
    people: tuple[PersonView, ...] = ()
    scored_rubric: RubricRef | None = None  # None: never scored
    current_rubric: RubricRef | None = None  # None: no approved strategy in the workspace yet

    @property
    def rubric_note(self) -> str:
        """ "Scored with rubric v1; current is v2." when the score is not from the current rubric, else ""."""
        scored, current = self.scored_rubric, self.current_rubric
        if current is None or (scored is not None and scored.version_id == current.version_id):
            return ""
        if scored is None:
            return f"Not scored yet; the current rubric is {current.label()}."
        named = scored.campaign_id is not None and scored.campaign_id != current.campaign_id
        before, now = scored.label(with_campaign=named, prefixed=True), current.label(with_campaign=named)
        return f"Scored with {before}; current is {now}."


@dataclass(frozen=True)
class DuplicateGroup:
    """Leads that look like one company: they share a domain or a contact email."""

    reason: str  # "domain" or "email"
    key: str
    lead_ids: tuple[int, ...]
    names: tuple[str, ...]


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


@dataclass(frozen=True)
class ImportStarted:
    """An import started from the page: done at once (``result``) or running as job ``job_id``."""

    job_id: int | None = None
    result: ImportResult | None = None
    rejected_file: bytes | None = None  # the rejected rows as CSV, when there are any
