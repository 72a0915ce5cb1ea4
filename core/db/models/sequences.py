"""Sequences: a campaign's steps of outreach, and each lead's place in one (its enrolment)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, CreatedAt, utcnow

SEQUENCE_STATUSES = ("active", "paused")
ENROLLMENT_STATUSES = ("active", "paused", "finished", "left")
# Why a contact left: a reply, a bounce, an unsubscribe or STOP, a lead status, by hand, or a step that could not go.
LEAVE_REASONS = ("replied", "bounced", "unsubscribed", "stop", "status", "manual", "not_sent")


class Sequence(CreatedAt, Base):
    """Steps of outreach sent one after another until the contact answers or leaves."""

    __tablename__ = "sequence"
    __table_args__ = (UniqueConstraint("workspace_id", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(8), default="active")
    stop_statuses: Mapped[list[str]] = mapped_column(default=list)  # lead statuses that end the sequence
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SequenceStep(Base):
    """One step: its channel, its template, how many working days after the previous step, its own subject."""

    __tablename__ = "sequence_step"
    __table_args__ = (UniqueConstraint("sequence_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequence.id", ondelete="CASCADE"))
    position: Mapped[int]  # 1, 2, 3 ...; also the ``step`` of the messages it makes
    channel: Mapped[str] = mapped_column(String(8))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("template.id", ondelete="SET NULL"))
    use_ai: Mapped[bool] = mapped_column(default=False)  # an AI draft grounded in the lead's evidence instead
    delay_days: Mapped[int] = mapped_column(default=0)  # working days after the previous step went out
    subject: Mapped[str] = mapped_column(String(500), default="")  # "" = "Re: <first subject>" in the thread


class Enrollment(CreatedAt, Base):
    """A lead's place in a sequence: the next step and when it is due, or why it finished or left."""

    __tablename__ = "enrollment"
    __table_args__ = (
        UniqueConstraint("sequence_id", "lead_id"),
        Index("ix_enrollment_status_next_due_at", "status", "next_due_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequence.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="active")
    reason: Mapped[str] = mapped_column(String(16), default="")  # one of LEAVE_REASONS once left
    detail: Mapped[str] = mapped_column(String(500), default="")
    next_position: Mapped[int | None] = mapped_column(default=1)
    # None while the previous step's message is on its way: the delay counts from when it went out.
    next_due_at: Mapped[datetime | None]
    last_message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL", use_alter=True))
    enrolled_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    ended_at: Mapped[datetime | None]
