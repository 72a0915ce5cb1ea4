"""What every channel is, the errors it raises, and the email it builds.

A channel raises one of three ``SendError`` subclasses, and the sender acts on which:
``TransientSendError`` (nothing was accepted: retry with backoff), ``PermanentSendError``
(the provider refused: record its reason), ``OutcomeUnknown`` (the provider may have accepted:
never resend; reconcile from its events).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, formatdate
from functools import lru_cache
from typing import Protocol

from core.outreach.models import OutgoingMessage, SendResult
from core.outreach.templates import refuse_line_breaks
from core.outreach.unsubscribe import list_unsubscribe_headers

STOP_ERROR_CODE = "21610"  # Twilio: "Attempt to send to unsubscribed recipient" (they texted STOP)


class Channel(Protocol):
    """A way out for a claimed message."""

    name: str

    def send(self, message: OutgoingMessage) -> SendResult:
        """Hand one message to the provider; raise a ``SendError`` subclass on failure."""
        ...

    def close(self) -> None:
        """Release connections held across sends."""
        ...


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, but each header's class is made once, not on every header set.

    (The stock registry builds a new class with ``type()`` per header per message: a third of the
    cost of building an email.)"""

    @lru_cache(maxsize=128)  # noqa: B019 - one registry for the process's lifetime
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)


# Lines up to RFC 5322's 998 limit, so the long unsubscribe URL is never folded into an encoded-word.
_POLICY = policy.SMTP.clone(max_line_length=998, header_factory=_HeaderClasses())


def build_email(message: OutgoingMessage, *, sent_at: datetime | None = None) -> EmailMessage:
    """The RFC 5322 message for an email (used by SMTP and the .eml export, which dates it ``sent_at``)."""
    for label, value in (
        ("recipient name", message.to_name),
        ("recipient address", message.to_address),
        ("sender name", message.from_name),
        ("sender address", message.from_address),
        ("subject", message.subject),
    ):
        refuse_line_breaks(label, value)
    email = EmailMessage(policy=_POLICY)
    to_user, _, to_domain = message.to_address.rpartition("@")
    from_user, _, from_domain = message.from_address.rpartition("@")
    email["From"] = Address(display_name=message.from_name, username=from_user, domain=from_domain)
    email["To"] = Address(display_name=message.to_name, username=to_user, domain=to_domain)
    email["Subject"] = message.subject
    if sent_at is None:
        email["Date"] = formatdate(localtime=False)
    else:  # stored times are UTC; SQLite hands them back naive
        email["Date"] = format_datetime((sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC)).astimezone(UTC))
    if message.message_id_header:
        email["Message-ID"] = message.message_id_header
    for name, value in thread_headers(message).items():
        email[name] = value
    if message.unsubscribe_url:
        for name, value in list_unsubscribe_headers(message.unsubscribe_url).items():
            email[name] = value
    email["X-LeadScout-Message"] = str(message.message_id)
    email.set_content(message.body)
    return email


def thread_headers(message: OutgoingMessage) -> dict[str, str]:
    """``In-Reply-To`` and ``References`` of a follow-up (none for a first message)."""
    headers = {}
    if message.in_reply_to:
        headers["In-Reply-To"] = refuse_line_breaks("In-Reply-To", message.in_reply_to)
    if message.references:
        headers["References"] = refuse_line_breaks("References", message.references)
    return headers


def status_is_retryable(status: int) -> bool:
    """True for HTTP statuses that mean 'not now' rather than 'no' (429 and 5xx)."""
    return status == 429 or status >= 500
