"""Domain values of the replies area: an incoming mail as parsed, its class, and the Inbox's rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.db.models import REPLY_LABELS as REPLY_LABELS  # the classes a reply can have, for pages and the API

HUMAN_LABELS = ("interested", "not_now", "not_interested", "other")  # a person answered: the lead replied
LABEL_TITLES = {
    "interested": "Interested",
    "not_now": "Not now",
    "not_interested": "Not interested",
    "unsubscribe": "Unsubscribe request",
    "auto_reply": "Auto-reply / out of office",
    "bounce": "Bounce",
    "other": "Reply",
}


@dataclass(frozen=True)
class Incoming:
    """One mail as it arrived, reduced to what matching and classification read."""

    source: str
    source_key: str
    from_address: str
    from_name: str
    to_addresses: tuple[str, ...]
    subject: str
    message_id: str  # as written (source_key and the references are lower-cased for matching)
    in_reply_to: str
    references: tuple[str, ...]
    received_at: datetime
    text: str  # the whole text part (or the HTML part as text)
    new_text: str  # the text without quoted history and signature
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names, the ones classification reads
    original_ids: tuple[str, ...] = ()  # Message-IDs named in a bounce's returned headers
    original_message_refs: tuple[str, ...] = ()  # X-LeadScout-Message values from a bounce's returned headers


@dataclass(frozen=True)
class Verdict:
    """What a mail is, and why."""

    label: str
    reason: str
    source: str = "rules"  # rules or llm
    bounce_recipient: str = ""
    bounce_status: str = ""  # the DSN status code, e.g. 5.1.1
    hard_bounce: bool = False


@dataclass(frozen=True)
class StoredReply:
    """A reply row just inserted, with what its effects need (``record_many`` returns these, not ORM objects:
    a chunk's rows go in as one executemany)."""

    id: int
    workspace_id: int | None
    lead_id: int | None
    message_id: int | None
    source: str
    source_key: str
    from_address: str
    label: str
    matched_by: str


@dataclass(frozen=True)
class Recorded:
    """A mail just stored: its row, workspace and class."""

    id: int
    workspace_id: int | None
    label: str
    matched_by: str


@dataclass(frozen=True)
class ReplyView:
    """A reply as the Inbox shows it."""

    id: int
    lead_id: int | None
    lead_name: str
    message_id: int | None
    message_subject: str
    channel: str
    source: str
    from_address: str
    from_name: str
    subject: str
    body: str
    full_body: str
    label: str
    label_source: str
    label_reason: str
    bounce_recipient: str
    bounce_status: str
    matched_by: str
    received_at: datetime
    handled_at: datetime | None
    answer_message_id: int | None = None  # our answer from the Inbox, and where it is
    answer_status: str = ""
    answer_error: str = ""


@dataclass(frozen=True)
class PollResult:
    """What one read of a mailbox did."""

    mailbox: str
    read: int
    recorded: int
    duplicates: int
    last_uid: int
    uidvalidity: int
    reset: bool  # the folder's UIDVALIDITY changed, so it was read again from the start
    older: int = 0  # mails left unread on a first read: received before LeadScout's first email
