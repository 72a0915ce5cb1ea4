"""Provider webhooks: signatures checked, replays refused, events parsed and applied in one transaction.

SendGrid: ECDSA (P-256, SHA-256) over timestamp + raw body, public key as base64 DER. Its replay
cache holds the digest of what was signed (timestamp + body), never the signature: an ECDSA
signature is malleable ((r, n - s) verifies too) and base64 decoding forgives padding and junk.
Mailgun: HMAC-SHA256 of timestamp + token with the webhook signing key; tokens kept as a replay cache.
Twilio: HMAC-SHA1 over the public URL + sorted form parameters, base64, in X-Twilio-Signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import WebhookReplay
from core.errors import InvalidInput, WebhookForged, WebhookUnsigned
from core.outreach.events import apply_event, apply_events, apply_inbound_sms
from core.outreach.models import ProviderEvent
from core.outreach.webhook_payloads import MAX_ID_LENGTH, json_object, message_id, parse_json, single_value

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
SENDGRID_STATUS = {
    "processed": "sent",
    "delivered": "delivered",
    "open": "opened",
    "bounce": "bounced",
    "dropped": "failed",
    "blocked": "failed",
}
SENDGRID_SUPPRESS = {
    "bounce": "bounced",
    "spamreport": "complaint",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
    "dropped": "",
}
MAILGUN_STATUS = {"accepted": "sent", "delivered": "delivered", "opened": "opened"}
TWILIO_STATUS = {"sent": "sent", "delivered": "delivered", "undelivered": "failed", "failed": "failed"}


def _fresh(timestamp: str, max_age: int, now: float | None) -> bool:
    try:
        return abs((now or time.time()) - float(timestamp)) <= max_age
    except ValueError:
        return False


def verify_sendgrid(
    *, public_key: str, body: bytes, signature: str, timestamp: str, max_age: int, now: float | None = None
) -> None:
    """Raise ``Forged`` unless the ECDSA signature over timestamp + body is valid and fresh."""
    if not _fresh(timestamp, max_age, now):
        raise WebhookForged("stale or missing timestamp")
    try:
        key = load_der_public_key(base64.b64decode(public_key))
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, AssertionError) as exc:
        raise WebhookForged("bad signature") from exc


def verify_mailgun(
    *, signing_key: str, timestamp: str, token: str, signature: str, max_age: int, now: float | None = None
) -> None:
    """Raise ``Forged`` unless HMAC-SHA256(key, timestamp + token) matches and is fresh."""
    if not _fresh(timestamp, max_age, now):
        raise WebhookForged("stale or missing timestamp")
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature or ""):
        raise WebhookForged("bad signature")


def twilio_signature(*, auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's X-Twilio-Signature for a POST to ``url`` with form ``params``."""
    data = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def sendgrid_replay_key(*, timestamp: str, body: bytes) -> str:
    """What makes a SendGrid delivery unique: the signed timestamp and payload, not the signature's encoding."""
    return timestamp + ":" + hashlib.sha256(body).hexdigest()


def remember_delivery(uow: UnitOfWork, provider: str, token: str) -> None:
    """Record a verified delivery; raise ``WebhookForged`` when the same one came before (a replay)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    if uow.session.scalar(
        select(WebhookReplay.id).where(WebhookReplay.provider == provider, WebhookReplay.token == digest)
    ):
        raise WebhookForged("replayed request")
    uow.session.add(WebhookReplay(provider=provider, token=digest))


def commit_once(uow: UnitOfWork) -> None:
    """Commit, turning a concurrent duplicate delivery into ``WebhookForged`` (nothing of it stays)."""
    try:
        uow.commit()
    except IntegrityError as exc:  # the same delivery raced us: it is a replay, and nothing of ours stays
        raise WebhookForged("replayed request") from exc


def _sendgrid_event(item: Any, number: int) -> ProviderEvent:
    """One event of a SendGrid batch; ``InvalidInput`` naming the event when its shape is odd."""
    where = f"SendGrid event {number}: "
    if not isinstance(item, Mapping):
        raise InvalidInput(f"SendGrid event {number} is not a JSON object.")
    # imported here: the SendGrid SDK (0.2 s) loads only for SendGrid's own webhook
    from core.outreach.channels.sendgrid import MESSAGE_ID_ARG

    kind = single_value(item, "event", where=where)
    event_id = single_value(item, "sg_event_id", where=where, max_length=MAX_ID_LENGTH)
    return ProviderEvent(
        provider="sendgrid",
        event_id=f"sendgrid:{event_id}" if event_id else "",
        status=SENDGRID_STATUS.get(kind, ""),
        message_id=message_id(single_value(item, MESSAGE_ID_ARG, where=where)),
        provider_message_id=single_value(item, "sg_message_id", where=where, max_length=MAX_ID_LENGTH),
        address=single_value(item, "email", where=where),
        suppress_reason=SENDGRID_SUPPRESS.get(kind, ""),
        detail=f"sendgrid: {kind} {single_value(item, 'reason', where=where)}".strip(),
    )


def receive_sendgrid(
    *, body: bytes, headers: Mapping[str, str], settings: Settings | None = None, uow: UnitOfWork | None = None
) -> int:
    """Verify and apply a SendGrid event batch; returns how many events changed something."""
    s = settings or get_settings()
    signature, timestamp = headers.get(SENDGRID_SIGNATURE, ""), headers.get(SENDGRID_TIMESTAMP, "")
    if not s.sendgrid_webhook_public_key:
        raise WebhookForged("SendGrid webhooks are not configured (SENDGRID_WEBHOOK_PUBLIC_KEY)")
    if not signature or not timestamp:
        raise WebhookUnsigned("missing signature")
    verify_sendgrid(
        public_key=s.sendgrid_webhook_public_key,
        body=body,
        signature=signature,
        timestamp=timestamp,
        max_age=s.webhook_max_age_seconds,
    )
    items = parse_json(body, what="SendGrid body")
    if not isinstance(items, list):
        raise InvalidInput("The SendGrid body is not a JSON list of events.")
    events = [_sendgrid_event(item, number) for number, item in enumerate(items, start=1)]
    uow = uow or UnitOfWork()
    with uow:
        remember_delivery(uow, "sendgrid", sendgrid_replay_key(timestamp=timestamp, body=body))
        applied = sum(apply_events(uow.session, events))  # a post of many events: set-based
        commit_once(uow)
        return applied


def _mailgun_event(value: Any) -> ProviderEvent:
    """The event in a Mailgun webhook's 'event-data'; ``InvalidInput`` naming the part whose shape is odd."""
    data = json_object(value, name="event-data", where="Mailgun ")
    kind = single_value(data, "event")
    permanent = kind == "failed" and single_value(data, "severity") == "permanent"
    status = "bounced" if permanent else MAILGUN_STATUS.get(kind, "")
    suppress = {"complained": "complaint", "unsubscribed": "unsubscribed"}.get(kind, "bounced" if permanent else "")
    variables = json_object(data.get("user-variables"), name="user-variables")
    message = json_object(data.get("message"), name="message")
    message_headers = json_object(message.get("headers"), name="message.headers")
    delivery = json_object(data.get("delivery-status"), name="delivery-status")
    event_id = single_value(data, "id", max_length=MAX_ID_LENGTH)
    return ProviderEvent(
        provider="mailgun",
        event_id=f"mailgun:{event_id}" if event_id else "",
        status=status,
        message_id=message_id(single_value(variables, "leadscout_message_id")),
        provider_message_id=single_value(message_headers, "message-id", max_length=MAX_ID_LENGTH),
        address=single_value(data, "recipient"),
        suppress_reason=suppress,
        detail=f"mailgun: {kind} {single_value(delivery, 'message')}".strip(),
    )


def receive_mailgun(
    *, payload: Mapping[str, Any], settings: Settings | None = None, uow: UnitOfWork | None = None
) -> int:
    """Verify and apply one Mailgun webhook (JSON with 'signature' and 'event-data')."""
    s = settings or get_settings()
    sig = payload.get("signature") or {}
    if not s.mailgun_webhook_signing_key:
        raise WebhookForged("Mailgun webhooks are not configured (MAILGUN_WEBHOOK_SIGNING_KEY)")
    if not isinstance(sig, Mapping) or not sig.get("signature"):
        raise WebhookUnsigned("missing signature")
    try:
        timestamp, token, signature = (single_value(sig, key) for key in ("timestamp", "token", "signature"))
    except InvalidInput as exc:
        raise WebhookUnsigned("malformed signature") from exc
    verify_mailgun(
        signing_key=s.mailgun_webhook_signing_key.get_secret_value(),
        timestamp=timestamp,
        token=token,
        signature=signature,
        max_age=s.webhook_max_age_seconds,
    )
    event = _mailgun_event(payload.get("event-data"))
    uow = uow or UnitOfWork()
    with uow:
        remember_delivery(uow, "mailgun", token)
        applied = int(apply_event(uow.session, event))
        commit_once(uow)
        return applied


def receive_twilio(
    *,
    url: str,
    params: Mapping[str, str],
    signature: str,
    settings: Settings | None = None,
    uow: UnitOfWork | None = None,
    keep_text: Callable[[Session, str, str, str], object] | None = None,
) -> str:
    """Verify and apply a Twilio status callback or inbound SMS; ``url`` is the public URL Twilio called.

    ``keep_text(session, from, body, message_sid)`` also stores an inbound text in the same transaction
    (the replies area passes its recorder; outreach does not import replies).
    """
    s = settings or get_settings()
    if not s.twilio_auth_token:
        raise WebhookForged("Twilio is not configured")
    if not signature:
        raise WebhookUnsigned("missing signature")
    expected = twilio_signature(auth_token=s.twilio_auth_token.get_secret_value(), url=url, params=params)
    if not hmac.compare_digest(expected, signature):
        raise WebhookForged("bad signature")
    uow = uow or UnitOfWork()
    with uow:
        remember_delivery(uow, "twilio", signature + url)
        if params.get("MessageStatus") or params.get("SmsStatus") in ("sent", "delivered", "undelivered", "failed"):
            kind = params.get("MessageStatus") or params.get("SmsStatus", "")
            ours = parse_qs(urlsplit(url).query).get("m", [""])[0]
            code = params.get("ErrorCode", "")
            event = ProviderEvent(
                provider="twilio",
                event_id=f"twilio:{params.get('MessageSid', '')}:{kind}",
                status=TWILIO_STATUS.get(kind, ""),
                message_id=message_id(ours),
                provider_message_id=params.get("MessageSid", ""),
                address=params.get("To", ""),
                suppress_reason="stop" if code == "21610" else "",
                detail=f"twilio: {kind} {code}".strip(),
            )
            outcome = "applied" if apply_event(uow.session, event) else "ignored"
        else:
            outcome = apply_inbound_sms(uow.session, from_number=params.get("From", ""), body=params.get("Body", ""))
            if keep_text is not None:
                keep_text(uow.session, params.get("From", ""), params.get("Body", ""), params.get("MessageSid", ""))
        commit_once(uow)
        return outcome
