"""Domain values of outreach: rendered messages, previews, claimed sends, log rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.db.models import MESSAGE_STATUSES as MESSAGE_STATUSES  # the statuses of the outbox, for pages and the API

CHANNELS = ("email", "sms")
# Statuses a provider event may move a message to, in the order they can only advance.
PROGRESS_RANK = {"sent": 1, "delivered": 2, "opened": 3, "replied": 4}
FINAL_FAILURES = ("failed", "bounced")


@dataclass(frozen=True)
class TemplateView:
    """A template as the UI shows it."""

    id: int
    name: str
    channel: str
    subject: str
    body: str


@dataclass(frozen=True)
class Segments:
    """How an SMS body is split: encoding and number of parts."""

    encoding: str  # "GSM-7" or "UCS-2"
    characters: int
    segments: int


@dataclass(frozen=True)
class Rendered:
    """A template rendered for one lead (before the compliance footer is added)."""

    subject: str
    body: str


@dataclass(frozen=True)
class PreviewRow:
    """One lead of a preview: which fields are missing, or the rendered text."""

    lead_id: int
    lead_name: str
    contact: str
    missing: tuple[str, ...]
    subject: str = ""
    body: str = ""
    segments: Segments | None = None
    error: str = ""


@dataclass(frozen=True)
class OutgoingMessage:
    """Everything a channel needs to send one claimed message; built inside the claim."""

    message_id: int
    workspace_id: int
    channel: str
    to_address: str
    to_name: str
    from_address: str
    from_name: str
    subject: str
    body: str
    unsubscribe_url: str = ""
    message_id_header: str = ""
    status_callback: str = ""
    in_reply_to: str = ""  # a sequence's follow-up: the Message-ID it answers
    references: str = ""  # and every earlier Message-ID of the thread, space-separated


@dataclass(frozen=True)
class SendResult:
    """What a provider said when it accepted a message."""

    provider: str
    provider_message_id: str
    recorded_only: bool = False  # the outbox channel: kept, never delivered


@dataclass(frozen=True)
class SendSummary:
    """The outcome of one sending pass."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    suppressed: int = 0
    waiting: int = 0
    capped: int = 0
    paused: int = 0  # left queued because their sender is paused (bounce guard)
    details: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class MessageView:
    """A row of the message log."""

    id: int
    lead_id: int
    lead_name: str
    contact: str
    channel: str
    step: int
    status: str
    provider: str
    provider_message_id: str
    subject: str
    body: str
    error: str
    flags: tuple[str, ...]
    evidence_ids: tuple[int, ...]
    attempts: int
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class MessageEventView:
    """One entry of a message's status history."""

    status: str
    detail: str
    created_at: datetime


@dataclass(frozen=True)
class MessageHistory:
    """One message of a lead's history and its status changes, oldest first."""

    message: MessageView
    events: tuple[MessageEventView, ...]


@dataclass(frozen=True)
class SuppressionView:
    """A row of the suppression list."""

    channel: str
    address: str
    reason: str
    source: str
    created_at: datetime


@dataclass(frozen=True)
class ProviderEvent:
    """A verified provider event, normalised across SendGrid, Mailgun and Twilio."""

    provider: str
    event_id: str
    status: str  # a MESSAGE_STATUS, or "" when the event only affects suppression
    message_id: int | None = None
    provider_message_id: str = ""
    address: str = ""
    suppress_reason: str = ""  # a SUPPRESSION_REASON, or ""
    detail: str = ""
