"""The message as it leaves: compliance footer, unsubscribe link, sender and headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.config import Settings
from core.db.models import Contact, Message, Workspace
from core.outreach.models import OutgoingMessage
from core.outreach.suppression import normalise_address
from core.outreach.templates import email_footer, refuse_line_breaks
from core.outreach.unsubscribe import unsubscribe_url


def refuse_unsendable_contact(contact: Contact, *, channel: str) -> None:
    """``InvalidInput`` when the contact cannot go into a message's headers (a line break in its
    name or address would inject headers, and every channel refuses it before sending)."""
    if channel == "email":
        refuse_line_breaks("recipient name", contact.person_name or "")
    refuse_line_breaks("recipient address", contact.value)


FALLBACK_SENDER = "outreach@localhost"  # what goes out when no From address is set anywhere
PLACEHOLDER_DOMAINS = frozenset(
    {"example.com", "example.org", "example.net", "domain.com", "yourdomain.com", "yourcompany.com", "test.com"}
)
_UNDELIVERABLE_SUFFIXES = (".localhost", ".local", ".localdomain", ".invalid", ".example", ".test", ".internal")


def sender_address(workspace_settings: Mapping[str, Any], settings: Settings) -> str:
    """The From address: the workspace's, else ``OUTREACH_FROM_EMAIL``, else the SMTP user, else a fallback."""
    return workspace_settings.get("from_email") or settings.outreach_from_email or settings.smtp_user or FALLBACK_SENDER


def undeliverable_sender(address: str) -> str:
    """Why replies to this From address could never arrive (a placeholder or local domain), or ``""``."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or not local or "." not in domain:
        return f"'{address}' is not a full email address (it needs a domain such as yourcompany.com)"
    if domain in PLACEHOLDER_DOMAINS or domain.endswith(_UNDELIVERABLE_SUFFIXES):
        return f"'{address}' uses {domain}, a placeholder or local domain that cannot receive mail"
    return ""


def compose_outgoing(
    *,
    message_id: int,
    workspace_id: int,
    channel: str,
    subject: str,
    body: str,
    address: str,
    person_name: str,
    workspace_settings: Mapping[str, Any],
    settings: Settings,
    in_reply_to: str = "",
    references: str = "",
) -> OutgoingMessage:
    """An ``OutgoingMessage`` from plain values (the claim builds these without loading ORM rows)."""
    address = address.strip()
    url = ""
    if channel == "email":
        url = unsubscribe_url(
            workspace_id=workspace_id,
            channel="email",
            address=normalise_address("email", address),
            base_url=settings.public_base_url,
        )
        body = body.rstrip() + email_footer(
            postal_address=workspace_settings.get("postal_address", ""), unsubscribe_url=url
        )
    from_address = sender_address(workspace_settings, settings)
    callback = f"{settings.public_base_url.rstrip('/')}/hooks/twilio?m={message_id}" if channel == "sms" else ""
    return OutgoingMessage(
        message_id=message_id,
        workspace_id=workspace_id,
        channel=channel,
        to_address=address,
        to_name=person_name or "",
        from_address=from_address,
        from_name=workspace_settings.get("from_name") or settings.outreach_from_name,
        subject=subject,
        body=body,
        unsubscribe_url=url,
        message_id_header=message_id_header(
            workspace_id=workspace_id, message_id=message_id, workspace_settings=workspace_settings, settings=settings
        ),
        status_callback=callback,
        in_reply_to=in_reply_to if channel == "email" else "",
        references=references if channel == "email" else "",
    )


def message_id_header(
    *, workspace_id: int, message_id: int, workspace_settings: Mapping[str, Any], settings: Settings
) -> str:
    """Our Message-ID of a message (replies are matched by it, follow-ups thread on it)."""
    domain = sender_address(workspace_settings, settings).rpartition("@")[2] or "localhost"
    return f"<leadscout.{workspace_id}.{message_id}@{domain}>"


def sent_message_id(message: Message, workspace_settings: Mapping[str, Any], settings: Settings) -> str:
    """The Message-ID an email went out with (SMTP records it; otherwise ours, as composed)."""
    if (message.provider_message_id or "").startswith("<leadscout."):
        return message.provider_message_id or ""
    return message_id_header(
        workspace_id=message.workspace_id,
        message_id=message.id,
        workspace_settings=workspace_settings,
        settings=settings,
    )


def outgoing_for(message: Message, contact: Contact, workspace: Workspace, settings: Settings) -> OutgoingMessage:
    """The ``OutgoingMessage`` for loaded rows (the .eml export shows exactly what would be sent)."""
    return compose_outgoing(
        message_id=message.id,
        workspace_id=workspace.id,
        channel=message.channel,
        subject=message.subject,
        body=message.body,
        address=contact.value,
        person_name=contact.person_name,
        workspace_settings=workspace.settings,
        settings=settings,
        in_reply_to=message.in_reply_to,
        references=message.thread_references,
    )
