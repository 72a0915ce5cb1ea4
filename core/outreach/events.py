"""Provider events applied to the outbox: statuses (reconciling ``unknown``), suppressions, replies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from core.db.models import Contact, Lead, Message, MessageEvent, Suppression
from core.outreach import guard
from core.outreach.models import FINAL_FAILURES, PROGRESS_RANK, ProviderEvent
from core.outreach.sequence_stops import leave_sequences
from core.outreach.suppression import add_suppression_row, normalise_address
from core.webhooks import events as webhooks

UNSETTLED = ("queued", "sending", "unknown", "failed")


def _find_message(session: Session, event: ProviderEvent) -> Message | None:
    if event.message_id is not None:
        message = session.get(Message, event.message_id)
        if message is not None and message.provider == event.provider:
            return message
    if event.provider_message_id:
        # SendGrid's event id is the X-Message-Id we stored plus ".filter..." suffixes.
        candidates = {event.provider_message_id, event.provider_message_id.split(".")[0]}
        return session.scalar(
            select(Message)
            .where(Message.provider == event.provider, Message.provider_message_id.in_(candidates))
            .limit(1)
        )
    return None


def reply_data(message: Message) -> dict[str, Any]:
    """The ``data`` of a ``message.replied`` webhook event."""
    return {"id": message.id, "lead_id": message.lead_id, "channel": message.channel, "status": "replied"}


def _next_status(current: str, incoming: str) -> str | None:
    if not incoming or incoming == current:
        return None
    if current in UNSETTLED:
        return incoming  # the provider knows better than a crashed or timed-out sender
    if incoming in FINAL_FAILURES:
        return incoming if current != "replied" else None
    if current in FINAL_FAILURES:
        return None
    return incoming if PROGRESS_RANK.get(incoming, 0) > PROGRESS_RANK.get(current, 0) else None


def apply_event(session: Session, event: ProviderEvent) -> bool:
    """Apply one verified event inside the caller's transaction; False when already applied."""
    if event.event_id and session.scalar(
        select(MessageEvent.id).where(MessageEvent.provider_event_id == event.event_id)
    ):
        return False
    message = _find_message(session, event)
    if message is None:
        return False
    new_status = _next_status(message.status, event.status)
    if new_status:
        detail = event.detail or f"{event.provider}: {event.status}"
        if message.status == "unknown":
            detail = f"reconciled from {event.provider} event: {event.status}"
        message.status = new_status
        if new_status in FINAL_FAILURES:
            message.error = event.detail or message.error
        elif message.status != "failed":
            message.error = ""
        if event.provider_message_id and not message.provider_message_id:
            message.provider_message_id = event.provider_message_id
        if new_status == "replied":
            webhooks.emit(session, workspace_id=message.workspace_id, event="message.replied", data=reply_data(message))
            session.execute(
                update(Lead)
                .where(Lead.id == message.lead_id, Lead.status.in_(("new", "qualified", "contacted")))
                .values(status="replied")
                .execution_options(synchronize_session=False)
            )
        session.add(
            MessageEvent(
                workspace_id=message.workspace_id,
                message_id=message.id,
                status=new_status,
                detail=detail[:2000],
                provider_event_id=event.event_id or None,
            )
        )
        if new_status in ("replied", "bounced"):
            leave_sequences(session, lead_ids=[message.lead_id], reason=new_status, detail=detail[:300])
    if event.suppress_reason == "complaint":
        session.add(
            MessageEvent(
                workspace_id=message.workspace_id,
                message_id=message.id,
                status=guard.COMPLAINT,
                detail=(event.detail or f"{event.provider}: spam complaint")[:2000],
                provider_event_id=None if new_status else (event.event_id or None),
            )
        )
    if new_status == "bounced" or event.suppress_reason == "complaint":
        session.flush()
        guard.check_sender(
            session, workspace_id=message.workspace_id, channel=message.channel, provider=message.provider
        )
    if event.suppress_reason:
        address = event.address or session.scalar(select(Contact.value).where(Contact.id == message.contact_id)) or ""
        add_suppression_row(
            session,
            workspace_id=message.workspace_id,
            channel=message.channel,
            address=address,
            reason=event.suppress_reason,
            source=f"{event.provider}:event",
        )
    return True


def contacts_with_phone(session: Session, phone: str) -> list[Contact]:
    """Every contact (any workspace) with this phone number: our Twilio number serves them all."""
    normalised = normalise_address("sms", phone)
    return list(
        session.scalars(
            select(Contact).where(
                Contact.kind == "phone", or_(Contact.normalised_value == normalised, Contact.value == phone)
            )
        )
    )


def apply_inbound_sms(session: Session, *, from_number: str, body: str) -> str:
    """STOP words suppress, START words lift a STOP, anything else marks the lead replied."""
    word = body.strip().split()[0].upper() if body.strip() else ""
    contacts = contacts_with_phone(session, from_number)
    workspaces = {c.workspace_id for c in contacts}
    if word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"):
        for workspace_id in workspaces:
            add_suppression_row(
                session,
                workspace_id=workspace_id,
                channel="sms",
                address=from_number,
                reason="stop",
                source="twilio:inbound",
            )
        return "stop"
    if word in ("START", "UNSTOP", "YES"):
        session.execute(
            delete(Suppression).where(
                Suppression.channel == "sms",
                Suppression.reason == "stop",
                Suppression.address == normalise_address("sms", from_number),
            )
        )
        return "start"
    for contact in contacts:
        message = session.scalar(
            select(Message)
            .where(Message.contact_id == contact.id, Message.channel == "sms")
            .order_by(Message.id.desc())
            .limit(1)
        )
        if message is not None and _next_status(message.status, "replied"):
            message.status = "replied"
            webhooks.emit(session, workspace_id=message.workspace_id, event="message.replied", data=reply_data(message))
            session.add(
                MessageEvent(
                    workspace_id=message.workspace_id,
                    message_id=message.id,
                    status="replied",
                    detail=f"inbound SMS: {body[:200]}",
                )
            )
        session.execute(
            update(Lead)
            .where(Lead.id == contact.lead_id, Lead.status.in_(("new", "qualified", "contacted")))
            .values(status="replied")
            .execution_options(synchronize_session=False)
        )
        leave_sequences(session, lead_ids=[contact.lead_id], reason="replied", detail=f"texted: {body[:200]}")
    return "reply" if contacts else "unknown-sender"
