"""Recording incoming mail: matched, classified, and its effects applied in the same transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from email.message import Message as Mail
from typing import Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.db.models import AuditEvent, Contact, Message, Reply, table_of, utcnow
from core.outreach.events import Later, apply_events, contacts_with_phone
from core.outreach.models import ProviderEvent
from core.outreach.sequence_stops import WHY
from core.outreach.suppression import NewSuppression
from core.replies.classify import classify, classify_text
from core.replies.match import match_all
from core.replies.models import LABEL_TITLES, Incoming, Recorded, StoredReply, Verdict
from core.replies.parse import message_from_bytes, parse_mail


def _event_id(reply_key: str, what: str) -> str:
    return f"reply:{what}:{hashlib.sha256(reply_key.encode()).hexdigest()[:40]}"


class Replied(Protocol):
    """What a reply's effects read: a row just stored (``StoredReply``) or a ``Reply`` from the Inbox."""

    @property
    def workspace_id(self) -> int | None: ...
    @property
    def lead_id(self) -> int | None: ...
    @property
    def message_id(self) -> int | None: ...
    @property
    def source(self) -> str: ...
    @property
    def source_key(self) -> str: ...
    @property
    def from_address(self) -> str: ...


def apply_effects(session: Session, reply: Replied, verdict: Verdict) -> None:
    """What a class means for the outbox, the lead and the suppression list."""
    apply_effects_many(session, [(reply, verdict)])


def apply_effects_many(session: Session, replies: Sequence[tuple[Replied, Verdict]]) -> None:
    """``apply_effects`` for a batch of stored replies, in order: the outbox events in one ``apply_events``,
    the leads and enrolments set-based, then the suppressions one by one. Within a batch, a lead that both
    replied and unsubscribed leaves its sequences as "replied", as a single mail that does both does."""
    later = Later()
    events: list[ProviderEvent] = []
    for reply, verdict in replies:
        message = session.get(Message, reply.message_id) if reply.message_id is not None else None
        if verdict.label == "bounce":
            if not verdict.hard_bounce or reply.workspace_id is None:
                continue
            if message is not None:
                events.append(
                    ProviderEvent(
                        provider=message.provider,
                        event_id=_event_id(reply.source_key, "bounce"),
                        status="bounced",
                        message_id=message.id,
                        address=verdict.bounce_recipient,
                        suppress_reason="bounced",
                        detail=verdict.reason[:300],
                    )
                )
            elif "@" in verdict.bounce_recipient:
                later.suppressions.append(
                    NewSuppression(
                        reply.workspace_id, "email", verdict.bounce_recipient, "bounced", f"{reply.source}:bounce"
                    )
                )
            continue
        if verdict.label == "auto_reply":
            continue  # an out-of-office is not an answer: the lead has not replied
        if message is not None:  # the event moves the lead and its sequences
            events.append(
                ProviderEvent(
                    provider=message.provider,
                    event_id=_event_id(reply.source_key, "replied"),
                    status="replied",
                    message_id=message.id,
                    detail=f"{reply.source}: {LABEL_TITLES[verdict.label].lower()} from {reply.from_address}"[:300],
                )
            )
        elif reply.lead_id is not None:
            later.replied_leads.append(reply.lead_id)
            later.leaves.append((reply.lead_id, "replied", WHY["replied"]))
        if verdict.label == "unsubscribe" and reply.workspace_id is not None and "@" in reply.from_address:
            # the address is suppressed and every lead holding it is do-not-contact
            later.suppressions.append(
                NewSuppression(reply.workspace_id, "email", reply.from_address, "unsubscribed", f"{reply.source}:reply")
            )
            later.do_not_contact.append((reply.workspace_id, "email", reply.from_address))
    apply_events(session, events, later)
    later.run(session)


def stored_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of these mails are stored already (one query for a whole fetched chunk)."""
    return set(session.scalars(select(Reply.source_key).where(Reply.source_key.in_(keys)))) if keys else set()


def record_incoming(
    session: Session, incoming: Incoming, message: Mail | None = None, *, known: set[str] | None = None
) -> StoredReply | None:
    """Match, classify and store one mail inside the caller's transaction; None when already stored.

    ``known`` is the already-stored keys (``stored_keys``); without it this mail is looked up.
    """
    verdict = classify(message, incoming) if message is not None else _text_verdict(incoming)
    return record_many(session, [(incoming, verdict)], known=known)[0]


def record_many(
    session: Session, mails: list[tuple[Incoming, Verdict]], *, known: set[str] | None = None
) -> list[StoredReply | None]:
    """Match and store classified mails inside the caller's transaction, each with its effects; for each, the
    stored reply or None when it was stored already (before, or earlier in this batch).

    A chunk of mail costs a handful of statements, not a handful per mail: one lookup of the stored keys,
    the matching's few reads (``match_all``), the replies inserted together, the effects set-based
    (``apply_effects_many``), and the audit events inserted together at the next flush.
    """
    known = known if known is not None else stored_keys(session, [incoming.source_key for incoming, _ in mails])
    fresh: list[tuple[Incoming, Verdict]] = []
    is_fresh: list[bool] = []
    for incoming, verdict in mails:
        is_fresh.append(incoming.source_key not in known)
        if is_fresh[-1]:
            known.add(incoming.source_key)
            fresh.append((incoming, verdict))
    matches = match_all(session, [(incoming, verdict.bounce_recipient) for incoming, verdict in fresh])
    rows = [
        {
            "workspace_id": found.workspace_id,
            "lead_id": found.lead_id,
            "contact_id": found.contact_id,
            "message_id": found.message_id,
            "channel": "email",
            "source": incoming.source,
            "source_key": incoming.source_key[:512],
            "message_id_header": incoming.message_id,
            "matched_by": found.matched_by,
            "from_address": incoming.from_address[:320],
            "from_name": incoming.from_name,
            "subject": incoming.subject,
            "body": (incoming.new_text or incoming.text)[:20000],
            "full_body": incoming.text,
            "label": verdict.label,
            "label_source": verdict.source,
            "label_reason": verdict.reason[:300],
            "bounce_recipient": verdict.bounce_recipient[:320],
            "bounce_status": verdict.bounce_status[:16],
            "received_at": incoming.received_at,
        }
        for (incoming, verdict), found in zip(fresh, matches, strict=True)
    ]
    # one executemany (the replies are the transaction's first write: see add_suppression_row's savepoint),
    # then their ids by their unique keys: SQLite would take rows whose ids are wanted back one at a time
    ids: dict[str, int] = {}
    if rows:
        session.execute(insert(table_of(Reply)), rows)
        keys = [incoming.source_key[:512] for incoming, _ in fresh]
        ids = {
            key: id_
            for key, id_ in session.execute(select(Reply.source_key, Reply.id).where(Reply.source_key.in_(keys)))
        }
    stored = [
        StoredReply(
            id=ids[incoming.source_key[:512]],
            workspace_id=found.workspace_id,
            lead_id=found.lead_id,
            message_id=found.message_id,
            source=incoming.source,
            source_key=incoming.source_key[:512],
            from_address=incoming.from_address[:320],
            label=verdict.label,
            matched_by=found.matched_by,
        )
        for (incoming, verdict), found in zip(fresh, matches, strict=True)
    ]
    apply_effects_many(session, [(reply, verdict) for reply, (_, verdict) in zip(stored, fresh, strict=True)])
    audited = [
        {
            "workspace_id": reply.workspace_id,
            "action": "reply.received",
            "target_type": "reply",
            "target_id": reply.id,
            "detail": {"label": reply.label, "matched_by": reply.matched_by, "source": reply.source},
        }
        for reply in stored
        if reply.workspace_id is not None
    ]
    if audited:  # rows, not objects: nothing reads them back in this transaction
        session.execute(insert(table_of(AuditEvent)), audited)
    replies = iter(stored)
    return [next(replies) if new else None for new in is_fresh]


def _text_verdict(incoming: Incoming) -> Verdict:
    return classify_text(incoming.new_text or incoming.text, subject=incoming.subject)


def read_mail(
    raw: bytes, *, source: str, fallback_key: str, received_at: datetime | None = None
) -> tuple[Incoming, Verdict]:
    """A mail's bytes read and classified: all the work on a mail that needs no database."""
    message = message_from_bytes(raw)
    incoming = parse_mail(message, source=source, fallback_key=fallback_key, received_at=received_at)
    return incoming, classify(message, incoming)


def record_raw_mail(*, raw: bytes, source: str, fallback_key: str, uow: UnitOfWork | None = None) -> Recorded | None:
    """Parse, match, classify and store one mail in its own transaction (provider webhooks, tools)."""
    mail = read_mail(raw, source=source, fallback_key=fallback_key)
    uow = uow or UnitOfWork()
    with uow:
        reply = record_many(uow.session, [mail])[0]
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
