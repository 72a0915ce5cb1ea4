"""Recording incoming mail: matched, classified, and its effects applied in the same transaction."""

from __future__ import annotations

import hashlib
from email.message import Message as Mail

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.db.models import AuditEvent, Contact, Lead, Message, Reply, utcnow
from core.outreach.events import apply_event, contacts_with_phone
from core.outreach.models import ProviderEvent
from core.outreach.sequence_stops import leave_sequences
from core.outreach.suppression import add_suppression_row
from core.replies.classify import classify, classify_text
from core.replies.match import Match, match_incoming
from core.replies.models import LABEL_TITLES, Incoming, Recorded, Verdict
from core.replies.parse import message_from_bytes, parse_mail

_REPLIABLE = ("new", "qualified", "contacted")  # a reply moves a lead forward from these, never back


def _event_id(reply_key: str, what: str) -> str:
    return f"reply:{what}:{hashlib.sha256(reply_key.encode()).hexdigest()[:40]}"


def _mark_lead_replied(session: Session, lead_id: int | None) -> None:
    if lead_id is not None:
        leave_sequences(session, lead_ids=[lead_id], reason="replied")
        session.execute(
            update(Lead)
            .where(Lead.id == lead_id, Lead.status.in_(_REPLIABLE))
            .values(status="replied")
            .execution_options(synchronize_session=False)
        )


def _suppress_sender(session: Session, reply: Reply, *, source: str) -> None:
    """An unsubscribe request: the address is suppressed and every lead holding it is do-not-contact."""
    if reply.workspace_id is None or "@" not in reply.from_address:
        return
    add_suppression_row(
        session,
        workspace_id=reply.workspace_id,
        channel="email",
        address=reply.from_address,
        reason="unsubscribed",
        source=source,
    )
    holders = list(  # read first: as one UPDATE ... IN (SELECT ...) a fresh table's plan compared every pair
        session.scalars(
            select(Contact.lead_id).where(
                Contact.workspace_id == reply.workspace_id,
                Contact.kind == "email",
                Contact.normalised_value == reply.from_address,
            )
        )
    )
    if not holders:
        return
    session.execute(
        update(Lead)
        .where(Lead.workspace_id == reply.workspace_id, Lead.id.in_(holders), Lead.status != "do_not_contact")
        .values(status="do_not_contact")
        .execution_options(synchronize_session=False)
    )


def apply_effects(session: Session, reply: Reply, verdict: Verdict) -> None:
    """What a class means for the outbox, the lead and the suppression list."""
    message = session.get(Message, reply.message_id) if reply.message_id is not None else None
    if verdict.label == "bounce":
        if not verdict.hard_bounce or reply.workspace_id is None:
            return
        address = verdict.bounce_recipient
        if message is not None:
            apply_event(
                session,
                ProviderEvent(
                    provider=message.provider,
                    event_id=_event_id(reply.source_key, "bounce"),
                    status="bounced",
                    message_id=message.id,
                    address=address,
                    suppress_reason="bounced",
                    detail=verdict.reason[:300],
                ),
            )
        elif "@" in address:
            add_suppression_row(
                session,
                workspace_id=reply.workspace_id,
                channel="email",
                address=address,
                reason="bounced",
                source=f"{reply.source}:bounce",
            )
        return
    if verdict.label == "auto_reply":
        return  # an out-of-office is not an answer: the lead has not replied
    if message is not None:
        apply_event(
            session,
            ProviderEvent(
                provider=message.provider,
                event_id=_event_id(reply.source_key, "replied"),
                status="replied",
                message_id=message.id,
                detail=f"{reply.source}: {LABEL_TITLES[verdict.label].lower()} from {reply.from_address}"[:300],
            ),
        )
    else:  # apply_event moved the lead already when there is a message
        _mark_lead_replied(session, reply.lead_id)
    if verdict.label == "unsubscribe":
        _suppress_sender(session, reply, source=f"{reply.source}:reply")


def stored_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of these mails are stored already (one query for a whole fetched chunk)."""
    return set(session.scalars(select(Reply.source_key).where(Reply.source_key.in_(keys)))) if keys else set()


def record_incoming(
    session: Session, incoming: Incoming, message: Mail | None = None, *, known: set[str] | None = None
) -> Reply | None:
    """Match, classify and store one mail inside the caller's transaction; None when already stored.

    ``known`` is the chunk's already-stored keys (``stored_keys``); without it this mail is looked up.
    """
    if incoming.source_key in (known if known is not None else stored_keys(session, [incoming.source_key])):
        return None
    verdict = classify(message, incoming) if message is not None else _text_verdict(incoming)
    found: Match = match_incoming(session, incoming, bounce_recipient=verdict.bounce_recipient)
    reply = Reply(
        workspace_id=found.workspace_id,
        lead_id=found.lead_id,
        contact_id=found.contact_id,
        message_id=found.message_id,
        channel="email",
        source=incoming.source,
        source_key=incoming.source_key[:512],
        message_id_header=incoming.message_id,
        matched_by=found.matched_by,
        from_address=incoming.from_address[:320],
        from_name=incoming.from_name,
        subject=incoming.subject,
        body=(incoming.new_text or incoming.text)[:20000],
        full_body=incoming.text,
        label=verdict.label,
        label_source=verdict.source,
        label_reason=verdict.reason[:300],
        bounce_recipient=verdict.bounce_recipient[:320],
        bounce_status=verdict.bounce_status[:16],
        received_at=incoming.received_at,
    )
    session.add(reply)
    session.flush()  # the reply is the transaction's first write (see add_suppression_row's savepoint)
    apply_effects(session, reply, verdict)
    if reply.workspace_id is not None:
        session.add(
            AuditEvent(
                workspace_id=reply.workspace_id,
                action="reply.received",
                target_type="reply",
                target_id=reply.id,
                detail={"label": reply.label, "matched_by": reply.matched_by, "source": reply.source},
            )
        )
    return reply


def _text_verdict(incoming: Incoming) -> Verdict:
    return classify_text(incoming.new_text or incoming.text, subject=incoming.subject)


def record_raw_mail(*, raw: bytes, source: str, fallback_key: str, uow: UnitOfWork | None = None) -> Recorded | None:
    """Parse, match, classify and store one mail in its own transaction (provider webhooks, tools)."""
    message = message_from_bytes(raw)
    incoming = parse_mail(message, source=source, fallback_key=fallback_key)
    uow = uow or UnitOfWork()
    with uow:
        reply = record_incoming(uow.session, incoming, message)
        if reply is None:
            return None
        recorded = Recorded(reply.id, reply.workspace_id, reply.label, reply.matched_by)
        uow.commit()
        return recorded


STOP_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")


def record_text_reply(session: Session, from_number: str, body: str, message_sid: str) -> int:
    """Keep an inbound SMS as a reply in each workspace that texted the number (its effects — STOP,
    replied — are applied by ``apply_inbound_sms``); returns how many were stored."""
    word = body.strip().split()[0].upper() if body.strip() else ""
    verdict = Verdict(label="unsubscribe", reason=f"texted {word}") if word in STOP_WORDS else classify_text(body)
    stored = 0
    by_workspace: dict[int, Contact] = {}
    for contact in contacts_with_phone(session, from_number):
        by_workspace.setdefault(contact.workspace_id, contact)
    for workspace_id, contact in by_workspace.items():
        key = f"twilio:{message_sid or hashlib.sha256((from_number + body).encode()).hexdigest()}:{workspace_id}"
        if session.scalar(select(Reply.id).where(Reply.source_key == key)) is not None:
            continue
        message_id = session.scalar(
            select(Message.id)
            .where(Message.contact_id == contact.id, Message.channel == "sms")
            .order_by(Message.id.desc())
            .limit(1)
        )
        session.add(
            Reply(
                workspace_id=workspace_id,
                lead_id=contact.lead_id,
                contact_id=contact.id,
                message_id=message_id,
                channel="sms",
                source="twilio",
                source_key=key,
                matched_by="sender",
                from_address=from_number[:320],
                body=body[:20000],
                full_body=body,
                label=verdict.label,
                label_reason=verdict.reason[:300],
                received_at=utcnow(),
            )
        )
        stored += 1
    return stored
