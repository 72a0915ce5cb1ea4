"""Provider events applied to the outbox: statuses (reconciling ``unknown``), suppressions, replies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.db.models import Contact, Lead, Message, MessageEvent, Suppression, table_of, utcnow
from core.outreach import guard
from core.outreach.models import FINAL_FAILURES, PROGRESS_RANK, ProviderEvent
from core.outreach.sequence_stops import leave_sequences, leave_sequences_many
from core.outreach.suppression import (
    NewSuppression,
    add_suppression_row,
    add_suppression_rows,
    mark_do_not_contact,
    normalise_address,
)
from core.webhooks import events as webhooks

UNSETTLED = ("queued", "sending", "unknown", "failed")
REPLIABLE = ("new", "qualified", "contacted")  # a reply moves a lead forward from these, never back


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


class Later:
    """The statements a batch of events owes, run once for the whole batch (``run``) in this order: the
    messages' new statuses and their events, leads marked replied, enrolments ended (the first reason
    for a lead wins), the bounce guard asked once per sender, the suppressions added (in order), and the
    leads holding an address that asked to be left alone marked do-not-contact. For a single event that
    is the order in which ``apply_event`` always made them; for a batch, each is one statement (or a
    few) for them all."""

    def __init__(self) -> None:
        self._clear()

    def change(self, message: Message, *, status: str, error: str, provider_message_id: str | None) -> None:
        """A message's new status, seen at once by the rest of the batch (the object in the session holds it)
        and written by ``run`` with one statement for every message changed: left to the session's flush,
        messages whose changed columns differ would go in a statement per run of alike ones."""
        for name, value in (("status", status), ("error", error), ("provider_message_id", provider_message_id)):
            set_committed_value(message, name, value)
        self.messages[message.id] = {
            "id": message.id,
            "status": status,
            "error": error,
            "provider_message_id": provider_message_id,
        }

    def _clear(self) -> None:
        self.messages: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []  # message_event rows: nothing reads them back as objects
        self.replied_leads: list[int] = []
        self.leaves: list[tuple[int, str, str]] = []
        self.senders: dict[tuple[int, str, str], None] = {}
        self.suppressions: list[NewSuppression] = []
        self.do_not_contact: list[tuple[int, str, str]] = []

    def run(self, session: Session) -> None:
        if self.messages:
            now = utcnow()
            session.execute(
                update(Message).execution_options(synchronize_session=False),
                [{**change, "updated_at": now} for change in self.messages.values()],
            )
        if self.events:
            session.execute(insert(table_of(MessageEvent)), self.events)
        if self.replied_leads:
            session.execute(
                update(Lead)
                .where(Lead.id.in_(sorted(set(self.replied_leads))), Lead.status.in_(REPLIABLE))
                .values(status="replied")
                .execution_options(synchronize_session=False)
            )
        leave_sequences_many(session, self.leaves)
        if self.senders:
            session.flush()  # the guard counts the events just added
            for workspace_id, channel, provider in self.senders:
                guard.check_sender(session, workspace_id=workspace_id, channel=channel, provider=provider)
        add_suppression_rows(session, self.suppressions)
        mark_do_not_contact(session, self.do_not_contact)
        self._clear()  # owed once: a second run has nothing left to do


def apply_event(session: Session, event: ProviderEvent) -> bool:
    """Apply one verified event inside the caller's transaction; False when already applied."""
    return apply_events(session, [event])[0]


def apply_events(session: Session, events: list[ProviderEvent], later: Later | None = None) -> list[bool]:
    """Apply verified events in order inside the caller's transaction; for each, False when already applied
    (or its message is unknown). The events already applied are looked up in one query, and the set-based
    statements wait in ``later``: run here, or by the caller when it hands one in (and has more to add)."""
    wanted = sorted({event.event_id for event in events if event.event_id})
    seen = (
        set(session.scalars(select(MessageEvent.provider_event_id).where(MessageEvent.provider_event_id.in_(wanted))))
        if wanted
        else set()
    )
    owed = later or Later()
    applied = [_apply(session, event, seen, owed) for event in events]
    if later is None:
        owed.run(session)
    return applied


def _apply(session: Session, event: ProviderEvent, seen: set[str | None], later: Later) -> bool:
    if event.event_id and event.event_id in seen:
        return False
    message = _find_message(session, event)
    if message is None:
        return False
    seen.add(event.event_id)  # a repeat later in the same batch is a repeat
    new_status = _next_status(message.status, event.status)
    if new_status:
        detail = event.detail or f"{event.provider}: {event.status}"
        if message.status == "unknown":
            detail = f"reconciled from {event.provider} event: {event.status}"
        if new_status in FINAL_FAILURES:
            error = event.detail or message.error
        else:
            error = "" if new_status != "failed" else message.error
        later.change(
            message,
            status=new_status,
            error=error,
            provider_message_id=(
                event.provider_message_id
                if event.provider_message_id and not message.provider_message_id
                else message.provider_message_id
            ),
        )
        if new_status == "replied":
            webhooks.emit(session, workspace_id=message.workspace_id, event="message.replied", data=reply_data(message))
            later.replied_leads.append(message.lead_id)
        later.events.append(
            {
                "workspace_id": message.workspace_id,
                "message_id": message.id,
                "status": new_status,
                "detail": detail[:2000],
                "provider_event_id": event.event_id or None,
            }
        )
        if new_status in ("replied", "bounced"):
            later.leaves.append((message.lead_id, new_status, detail[:300]))
    if event.suppress_reason == "complaint":
        later.events.append(
            {
                "workspace_id": message.workspace_id,
                "message_id": message.id,
                "status": guard.COMPLAINT,
                "detail": (event.detail or f"{event.provider}: spam complaint")[:2000],
                "provider_event_id": None if new_status else (event.event_id or None),
            }
        )
    if new_status == "bounced" or event.suppress_reason == "complaint":
        later.senders[(message.workspace_id, message.channel, message.provider)] = None
    if event.suppress_reason:
        address = event.address or session.scalar(select(Contact.value).where(Contact.id == message.contact_id)) or ""
        later.suppressions.append(
            NewSuppression(
                message.workspace_id, message.channel, address, event.suppress_reason, f"{event.provider}:event"
            )
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
            .where(Lead.id == contact.lead_id, Lead.status.in_(REPLIABLE))
            .values(status="replied")
            .execution_options(synchronize_session=False)
        )
        leave_sequences(session, lead_ids=[contact.lead_id], reason="replied", detail=f"texted: {body[:200]}")
    return "reply" if contacts else "unknown-sender"
