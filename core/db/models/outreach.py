"""Templates, the outbox (messages and their history) and the suppression list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, CreatedAt, utcnow

MESSAGE_STATUSES = (
    "draft",
    "approved",
    "queued",
    "sending",
    "sent",
    "failed",
    "unknown",
    "delivered",
    "bounced",
    "opened",
    "replied",
)
SUPPRESSION_REASONS = ("unsubscribed", "bounced", "complaint", "stop", "manual", "deleted")


class Template(CreatedAt, Base):
    """A reusable message: subject and body for email, body for SMS."""

    __tablename__ = "template"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Message(CreatedAt, Base):
    """The outbox: one row per (lead, contact, channel, step); the only way a message leaves."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("workspace_id", "lead_id", "contact_id", "channel", "step"),
        Index("ix_message_status", "status"),
        # A claim reads the next queued ids of a workspace after its cursor, without sorting all of them.
        Index("ix_message_workspace_status_id", "workspace_id", "status", "id"),
        # The daily-cap count reads only a workspace's in-flight rows and today's accepted ones.
        Index("ix_message_workspace_status_sent_at", "workspace_id", "status", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    step: Mapped[int] = mapped_column(default=1)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("template.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="draft")
    provider: Mapped[str] = mapped_column(String(16), default="")
    provider_message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    evidence_ids: Mapped[list[int]] = mapped_column(default=list)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # Set (and committed) just before the provider call of the current claim; a claim found
    # abandoned without it goes back to the queue, one with it may have reached the provider.
    attempt_started_at: Mapped[datetime | None]
    # A sequence's step: its enrolment, and the thread it answers (Message-IDs of the earlier emails).
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment.id", ondelete="SET NULL"), index=True)
    in_reply_to: Mapped[str] = mapped_column(String(255), default="")
    thread_references: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MessageEvent(CreatedAt, Base):
    """A status change of a message, from us or from a provider's event."""

    __tablename__ = "message_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    detail: Mapped[str] = mapped_column(Text, default="")
    provider_event_id: Mapped[str | None] = mapped_column(String(255), unique=True)


class Suppression(CreatedAt, Base):
    """An address that must never be contacted again on a channel."""

    __tablename__ = "suppression"
    __table_args__ = (UniqueConstraint("workspace_id", "channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64), default="")


class SenderPause(Base):
    """The bounce guard's state of one sender (workspace, channel, provider): paused or not, and since when.

    Hard bounces and complaints are counted over the messages accepted since ``counted_from`` (the
    last deliberate resume), so resuming starts a fresh window.
    """

    __tablename__ = "sender_pause"
    __table_args__ = (UniqueConstraint("workspace_id", "channel", "provider"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    provider: Mapped[str] = mapped_column(String(16))
    paused: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    paused_at: Mapped[datetime | None]
    counted_from: Mapped[datetime | None]
    resumed_at: Mapped[datetime | None]
    resumed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class WebhookReplay(CreatedAt, Base):
    """A webhook signature already accepted; a second delivery of it is a replay."""

    __tablename__ = "webhook_replay"
    __table_args__ = (UniqueConstraint("provider", "token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(String(255))


class SendQuota(Base):
    """How many messages a sender (workspace, channel, provider) handed to its provider on one local day.

    The daily cap reads one row instead of counting the day's messages. A row starts from the
    messages already out that day (so upgrading or a first send mid-day counts what went before),
    grows with every claim and shrinks when a claimed message goes back to the queue unsent.
    """

    __tablename__ = "send_quota"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    used: Mapped[int] = mapped_column(default=0)
