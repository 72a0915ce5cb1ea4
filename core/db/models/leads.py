"""Leads, their contacts and evidence, and the pages fetched from their sites."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, CreatedAt, utcnow

LEAD_STATUSES = (
    "new",
    "qualified",
    "contacted",
    "replied",
    "meeting",
    "won",
    "lost",
    "do_not_contact",
)
CONTACT_KINDS = ("email", "phone", "social", "form")
VERIFICATION_STATUSES = ("valid", "risky", "unknown", "invalid")


class Lead(CreatedAt, Base):
    """One company, unique per workspace on its normalised registered domain."""

    __tablename__ = "lead"
    __table_args__ = (
        UniqueConstraint("workspace_id", "domain"),
        Index("ix_lead_workspace_status", "workspace_id", "status"),
        Index("ix_lead_workspace_score", "workspace_id", "score"),
        Index("ix_lead_workspace_deleted", "workspace_id", "deleted_at"),
        Index("ix_lead_workspace_country_city", "workspace_id", "country", "city"),
        # ids are never reused on SQLite either (after a delete or a merge), so audit entries keep pointing at
        # the lead they name; PostgreSQL's sequences never reuse one anyway
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(300), default="")
    website: Mapped[str] = mapped_column(String(2048), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    industry: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    country: Mapped[str] = mapped_column(String(2), default="")  # ISO 3166-1 alpha-2, from the address or CSV
    city: Mapped[str] = mapped_column(String(120), default="", server_default="")
    opening_hours: Mapped[str] = mapped_column(Text, default="")
    tech: Mapped[list[str]] = mapped_column(default=list)
    score: Mapped[float | None]
    score_factors: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    rubric_version: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default="new")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    tags: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="manual")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # In the trash since (None: live). Every list, search, count and export skips trashed leads;
    # owners and admins restore them within TRASH_DAYS, after which the purge removes them.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_by: Mapped[int | None] = mapped_column(default=None)  # user id, kept as a plain number


class LeadTombstone(CreatedAt, Base):
    """A deleted lead's domain, so a later crawl or import does not bring it back."""

    __tablename__ = "lead_tombstone"
    __table_args__ = (UniqueConstraint("workspace_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(255))
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class Contact(CreatedAt, Base):
    """A way to reach a lead: email, phone, social profile or contact form."""

    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("lead_id", "kind", "normalised_value"),
        # by address: replies and bounces matched to what we sent, unsubscribes, inbound SMS (any workspace)
        Index("ix_contact_address", "normalised_value", "kind"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(1024))
    normalised_value: Mapped[str] = mapped_column(String(1024))
    label: Mapped[str] = mapped_column(String(64), default="")
    person_name: Mapped[str] = mapped_column(String(200), default="")
    person_title: Mapped[str] = mapped_column(String(200), default="")
    is_role_address: Mapped[bool] = mapped_column(default=False)
    verification: Mapped[str] = mapped_column(String(8), default="unknown")
    # The address check before sending (core/outreach/verify.py): why, and when it ran (None = never)
    verification_reasons: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    verified_at: Mapped[datetime | None]
    sms_consent_at: Mapped[datetime | None]  # when the number's owner agreed to texts (None: no consent)
    sms_consent_source: Mapped[str] = mapped_column(String(200), default="", server_default="")


class Evidence(CreatedAt, Base):
    """Where a fact came from: the field, its value, the page and the snippet that shows it."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("lead_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    source_url: Mapped[str] = mapped_column(String(2048))
    snippet: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(64))


class PageFetch(Base):
    """The crawl log: one row per HTTP request made to a website."""

    __tablename__ = "page_fetch"
    __table_args__ = (Index("ix_page_fetch_workspace_fetched", "workspace_id", "fetched_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(String(2048))
    status_code: Mapped[int | None]
    bytes: Mapped[int] = mapped_column(default=0)
    elapsed_ms: Mapped[int] = mapped_column(default=0)
    robots: Mapped[str] = mapped_column(String(16), default="allowed")
    error: Mapped[str] = mapped_column(Text, default="")
    etag: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class Page(CreatedAt, Base):
    """A stored page of a lead's website, kept (gzip) for analysis and re-analysis."""

    __tablename__ = "page"
    __table_args__ = (UniqueConstraint("lead_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    kind: Mapped[str] = mapped_column(String(32), default="home")
    html_gz: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
