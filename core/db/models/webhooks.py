"""Webhooks out: a workspace's endpoints, the deliveries owed to them and every attempt's response."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, CreatedAt

WEBHOOK_EVENTS = (
    "lead.created",
    "lead.qualified",
    "run.finished",
    "message.sent",
    "message.replied",
    "contact.unsubscribed",
)
ENDPOINT_STATUSES = ("active", "failing")
DELIVERY_STATUSES = ("pending", "succeeded", "failed")


class WebhookEndpoint(CreatedAt, Base):
    """A URL a workspace wants events POSTed to, signed with its secret (sealed; shown once)."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[str]] = mapped_column(default=list)
    secret_sealed: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="active")
    failing_since: Mapped[datetime | None]


class WebhookDelivery(CreatedAt, Base):
    """One event owed to one endpoint: its exact body, and where its attempts stand.

    ``claimed_until`` is a lease: a worker that dies mid-delivery leaves it to expire, and the
    next pass claims the delivery again (at-least-once; receivers dedupe on ``message_id``).
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)  # the webhook-id header
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str] = mapped_column(String(32), default="")
    last_status_code: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None]
    redeliver_requested: Mapped[bool] = mapped_column(default=False)  # by hand: one attempt, no automatic retries


class WebhookAttempt(CreatedAt, Base):
    """One POST of a delivery: the response code (None when no response came) and what went wrong."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True)
    status_code: Mapped[int | None]
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(default=0)
    manual: Mapped[bool] = mapped_column(default=False)
