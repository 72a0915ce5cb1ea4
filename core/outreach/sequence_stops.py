"""A contact leaving its sequences, inside the transaction that records why (a reply, a bounce, an opt-out).

Everything that records such an event calls ``leave_sequences`` before it commits: the enrolments end
and their messages not yet claimed by a sender are cancelled in the same transaction. A sender's claim
of a queued step takes the row lock (PostgreSQL) or the write lock (SQLite) first, so either the claim
wins and the step was already on its way, or the cancel wins and the claim finds nothing queued.
It lives in ``outreach`` because it changes the outbox, and the events that call it live here too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from core.db.models import Contact, Enrollment, Message, MessageEvent, Sequence, table_of, utcnow

OPEN = ("active", "paused")
UNCLAIMED = ("draft", "approved", "queued")
WHY = {
    "replied": "the contact replied",
    "bounced": "the address bounced",
    "unsubscribed": "the contact unsubscribed",
    "stop": "the contact texted STOP",
    "status": "the lead's status ends the sequence",
    "manual": "taken out by hand",
    "not_sent": "a step could not be sent",
}


def leave_sequences(
    session: Session, *, lead_ids: Iterable[int], reason: str, detail: str = "", enrollment_ids: Iterable[int] = ()
) -> list[int]:
    """End the open enrolments of these leads (or these enrolments) and cancel their unclaimed messages; their ids."""
    leads, chosen = sorted(set(lead_ids)), sorted(set(enrollment_ids))
    if not leads and not chosen:
        return []
    query = update(Enrollment).where(Enrollment.status.in_(OPEN))
    query = query.where(Enrollment.lead_id.in_(leads)) if leads else query.where(Enrollment.id.in_(chosen))
    text = (detail or WHY.get(reason, reason))[:500]
    left = [
        row[0]
        for row in session.execute(
            query.values(status="left", reason=reason, detail=text, next_due_at=None, ended_at=utcnow())
            .returning(Enrollment.id)
            .execution_options(synchronize_session=False)
        )
    ]
    if left:
        cancel_unclaimed_many(session, dict.fromkeys(left, f"Not sent: the contact left the sequence ({text})."))
    return left


def leave_sequences_many(session: Session, leaves: list[tuple[int, str, str]]) -> list[int]:
    """``leave_sequences`` for many leads at once, each ``(lead id, reason, detail)``: the first given for a
    lead wins, as when they are called one after another (the later ones find nothing open). The open
    enrolments are read and locked with one query and ended with one statement, each with its own reason,
    so a chunk of mail costs the same few statements however many leads it ends."""
    first: dict[int, tuple[str, str]] = {}
    for lead_id, reason, detail in leaves:
        first.setdefault(lead_id, (reason, (detail or WHY.get(reason, reason))[:500]))
    if not first:
        return []
    ending = {
        enrollment_id: first[lead_id]
        for enrollment_id, lead_id in session.execute(
            select(Enrollment.id, Enrollment.lead_id)
            .where(Enrollment.lead_id.in_(sorted(first)), Enrollment.status.in_(OPEN))
            .with_for_update()  # PostgreSQL: no claim or status change slips in before the update below
        )
    }
    if not ending:
        return []
    now = utcnow()
    session.execute(
        update(Enrollment).execution_options(synchronize_session=False),
        [
            {
                "id": enrollment_id,
                "status": "left",
                "reason": reason,
                "detail": text,
                "next_due_at": None,
                "ended_at": now,
            }
            for enrollment_id, (reason, text) in ending.items()
        ],
    )
    cancel_unclaimed_many(
        session,
        {
            enrollment_id: f"Not sent: the contact left the sequence ({text})."
            for enrollment_id, (_, text) in ending.items()
        },
    )
    return list(ending)


def cancel_unclaimed_many(session: Session, why: dict[int, str]) -> list[int]:
    """The unclaimed messages of each enrolment go to ``failed`` with its ``why``; their ids. The messages are
    read and locked first (PostgreSQL: a sender's claim waits, or has already moved them on and they are
    not read), then updated with one statement."""
    if not why:
        return []
    cancelled = [
        (message_id, workspace_id, enrollment_id)
        for message_id, workspace_id, enrollment_id in session.execute(
            select(Message.id, Message.workspace_id, Message.enrollment_id)
            .where(Message.enrollment_id.in_(sorted(why)), Message.status.in_(UNCLAIMED))
            .with_for_update()
        )
        if enrollment_id is not None  # never: the query asks for these enrolments' messages
    ]
    if not cancelled:
        return []
    now = utcnow()
    session.execute(
        update(Message).execution_options(synchronize_session=False),
        [
            {"id": message_id, "status": "failed", "error": why[enrollment_id], "updated_at": now}
            for message_id, _, enrollment_id in cancelled
        ],
    )
    session.execute(
        insert(table_of(MessageEvent)),
        [
            {"workspace_id": workspace_id, "message_id": message_id, "status": "failed", "detail": why[enrollment_id]}
            for message_id, workspace_id, enrollment_id in cancelled
        ],
    )
    return [message_id for message_id, _, _ in cancelled]


def leave_for_addresses(session: Session, suppressed: list[tuple[int, str, str, str]]) -> list[int]:
    """Opt-outs or bounces, each ``(workspace id, channel, normalised address, reason)``: every lead holding
    one leaves its sequences (the first reason for a lead wins). One query finds the holders of them all."""
    if not suppressed:
        return []
    addresses = sorted({address for _, _, address, _ in suppressed})
    holders: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for workspace_id, kind, normalised, value, lead_id in session.execute(
        select(Contact.workspace_id, Contact.kind, Contact.normalised_value, Contact.value, Contact.lead_id).where(
            Contact.workspace_id.in_(sorted({workspace_id for workspace_id, _, _, _ in suppressed})),
            or_(Contact.normalised_value.in_(addresses), Contact.value.in_(addresses)),
        )
    ):
        for address in {normalised, value}:
            holders[(workspace_id, kind, address)].append(lead_id)
    why = {"stop": "stop", "bounced": "bounced", "manual": "manual", "deleted": "manual"}
    return leave_sequences_many(
        session,
        [
            (lead_id, why.get(reason, "unsubscribed"), f"{address} suppressed ({reason})")
            for workspace_id, channel, address, reason in suppressed
            for lead_id in holders.get((workspace_id, "email" if channel == "email" else "phone", address), ())
        ],
    )


def leave_for_status(session: Session, *, lead_ids: Iterable[int], status: str) -> list[int]:
    """Leads given a status their sequence stops on (meeting, won, lost, do not contact...) leave it now."""
    rows = session.execute(
        select(Enrollment.id, Sequence.stop_statuses)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .where(Enrollment.lead_id.in_(sorted(set(lead_ids))), Enrollment.status.in_(OPEN))
    ).all()
    ending = [row.id for row in rows if status == "do_not_contact" or status in (row.stop_statuses or [])]
    if not ending:
        return []
    return leave_sequences(
        session, lead_ids=(), enrollment_ids=ending, reason="status", detail=f"the lead's status is now {status}"
    )
