"""Mail and texts that came back: replies, auto-replies and bounces, and where each mailbox was last read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, CreatedAt

REPLY_LABELS = ("interested", "not_now", "not_interested", "unsubscribe", "auto_reply", "bounce", "other")


class Reply(CreatedAt, Base):
    """One incoming mail or text, matched to the message it answers where possible.

    ``workspace_id`` is empty only for mail that matched no message and no workspace's sender address:
    it is kept (never dropped) and counted for the operator.
    """

    __tablename__ = "reply"
    __table_args__ = (
        UniqueConstraint("source_key"),
        Index("ix_reply_workspace_id_received_at", "workspace_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(8), default="email")
    source: Mapped[str] = mapped_column(String(16))  # imap, sendgrid, mailgun, twilio
    source_key: Mapped[str] = mapped_column(String(512))  # the Message-ID, or the mailbox position without one
    matched_by: Mapped[str] = mapped_column(String(16), default="")  # header, bounce, sender, to, single, ""
    from_address: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # the new text, quoted history and signature stripped
    full_body: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[str] = mapped_column(String(16), default="other")
    label_source: Mapped[str] = mapped_column(String(8), default="rules")  # rules, llm, user
    label_reason: Mapped[str] = mapped_column(String(300), default="")
    bounce_recipient: Mapped[str] = mapped_column(String(320), default="")
    bounce_status: Mapped[str] = mapped_column(String(16), default="")
    received_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]
    # When the LLM read a person's answer classified by rules (core/replies/refine.py); empty = not yet.
    llm_checked_at: Mapped[datetime | None]
    message_id_header: Mapped[str] = mapped_column(String(512), default="")  # as written, for answering in its thread
    # The answer written from the Inbox (one per reply, so a double click cannot send two).
    answer_message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"), index=True)


class MailboxCursor(Base):
    """Where reading a mailbox folder got to: its UIDVALIDITY and the last UID read."""

    __tablename__ = "mailbox_cursor"

    mailbox: Mapped[str] = mapped_column(String(400), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(default=0)
    last_uid: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime | None]
