"""Replies handed to us by a provider instead of read over IMAP: SendGrid Inbound Parse and Mailgun
routes (``forward()`` to our receiver). Each is verified like that provider's event webhooks, replays
are refused, and the mail then goes the same way as an IMAP one (matched, classified, acted on)."""

from __future__ import annotations

import email
import json
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage

from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.errors import InvalidInput, WebhookForged, WebhookUnsigned
from core.outreach.webhooks import (
    SENDGRID_SIGNATURE,
    SENDGRID_TIMESTAMP,
    commit_once,
    remember_delivery,
    sendgrid_replay_key,
    verify_mailgun,
    verify_sendgrid,
)
from core.replies.models import Recorded
from core.replies.parse import message_from_bytes, parse_mail
from core.replies.service import record_incoming

THREAD_HEADERS = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "Precedence",
    "X-Autoreply",
    "X-Autorespond",
    "X-Auto-Response-Suppress",
)


def _rebuilt(headers: list[tuple[str, str]], text: str) -> bytes:
    """A mail rebuilt from a provider's parsed fields (when it did not send the raw MIME)."""
    message = EmailMessage(policy=policy.default)
    wanted = {name.lower(): name for name in THREAD_HEADERS}
    for name, value in headers:
        if name.lower() in wanted and wanted[name.lower()] not in message:
            try:
                message[wanted[name.lower()]] = " ".join(str(value).split())
            except (ValueError, TypeError, IndexError):
                continue  # a header the email package cannot hold: the rest of the mail still counts
    message.set_content(text or "")
    return message.as_bytes()


def _record(uow: UnitOfWork, *, raw: bytes, source: str, fallback_key: str) -> Recorded | None:
    message = message_from_bytes(raw)
    reply = record_incoming(uow.session, parse_mail(message, source=source, fallback_key=fallback_key), message)
    return None if reply is None else Recorded(reply.id, reply.workspace_id, reply.label, reply.matched_by)


def receive_mailgun_mail(*, fields: Mapping[str, str], settings: Settings | None = None) -> Recorded | None:
    """A mail a Mailgun route forwarded (form fields; ``body-mime`` when the route's URL ends in ``mime``)."""
    s = settings or get_settings()
    if not s.mailgun_webhook_signing_key:
        raise WebhookForged("Mailgun webhooks are not configured (MAILGUN_WEBHOOK_SIGNING_KEY)")
    if not fields.get("signature"):
        raise WebhookUnsigned("missing signature")
    verify_mailgun(
        signing_key=s.mailgun_webhook_signing_key.get_secret_value(),
        timestamp=fields.get("timestamp", ""),
        token=fields.get("token", ""),
        signature=fields.get("signature", ""),
        max_age=s.webhook_max_age_seconds,
    )
    if fields.get("body-mime"):
        raw = fields["body-mime"].encode("utf-8", "surrogateescape")
    else:
        try:
            headers = json.loads(fields.get("message-headers") or "[]")
        except ValueError as exc:
            raise InvalidInput("Mailgun's message-headers field is not JSON.") from exc
        if not isinstance(headers, list) or not all(isinstance(h, list) and len(h) == 2 for h in headers):
            raise InvalidInput("Mailgun's message-headers field is not a list of [name, value] pairs.")
        pairs = [(str(name), str(value)) for name, value in headers]
        if not any(name.lower() == "from" for name, _ in pairs):
            pairs.append(("From", fields.get("from") or fields.get("sender", "")))
        raw = _rebuilt(pairs, fields.get("body-plain", ""))
    with UnitOfWork() as uow:
        remember_delivery(uow, "mailgun", fields["token"])
        recorded = _record(uow, raw=raw, source="mailgun", fallback_key=f"mailgun:{fields['token']}")
        commit_once(uow)
        return recorded


def receive_sendgrid_mail(
    *, body: bytes, fields: Mapping[str, str], headers: Mapping[str, str], settings: Settings | None = None
) -> Recorded | None:
    """A mail SendGrid Inbound Parse posted (``email`` holds the raw MIME with "POST the raw, full MIME
    message"; else ``headers`` and ``text``), signed by the parse webhook's security policy."""
    s = settings or get_settings()
    public_key = s.sendgrid_inbound_public_key or s.sendgrid_webhook_public_key
    if not public_key:
        raise WebhookForged("SendGrid Inbound Parse is not configured (SENDGRID_INBOUND_PUBLIC_KEY)")
    signature, timestamp = headers.get(SENDGRID_SIGNATURE, ""), headers.get(SENDGRID_TIMESTAMP, "")
    if not signature or not timestamp:
        raise WebhookUnsigned("missing signature")
    verify_sendgrid(
        public_key=public_key, body=body, signature=signature, timestamp=timestamp, max_age=s.webhook_max_age_seconds
    )
    if fields.get("email"):
        raw = fields["email"].encode("utf-8", "surrogateescape")
    else:
        parsed = email.message_from_string(fields.get("headers", ""), policy=policy.compat32)
        raw = _rebuilt(list(parsed.items()), fields.get("text", ""))
    replay_key = sendgrid_replay_key(timestamp=timestamp, body=body)
    with UnitOfWork() as uow:
        remember_delivery(uow, "sendgrid-inbound", replay_key)
        recorded = _record(uow, raw=raw, source="sendgrid", fallback_key=f"sendgrid:{replay_key}")
        commit_once(uow)
        return recorded
