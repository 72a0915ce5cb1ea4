"""A contact leaving its sequences, inside the transaction that records why (a reply, a bounce, an opt-out).

Everything that records such an event calls ``leave_sequences`` before it commits: the enrolments end
and their messages not yet claimed by a sender are cancelled in the same transaction. A sender's claim
of a queued step takes the row lock (PostgreSQL) or the write lock (SQLite) first, so either the claim
wins and the step was already on its way, or the cancel wins and the claim finds nothing queued.
It lives in ``outreach`` because it changes the outbox, and the events that call it live here too.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.db.models import Contact, Enrollment, Message, MessageEvent, Sequence, utcnow

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
        cancel_unclaimed(session, enrollment_ids=left, why=f"Not sent: the contact left the sequence ({text}).")
    return left


def cancel_unclaimed(session: Session, *, enrollment_ids: list[int], why: str) -> list[int]:
    """Messages of these enrolments that no sender has claimed yet go to ``failed`` with ``why``; their ids."""
    cancelled = session.execute(
        update(Message)
        .where(Message.enrollment_id.in_(enrollment_ids), Message.status.in_(UNCLAIMED))
        .values(status="failed", error=why, updated_at=utcnow())
        .returning(Message.id, Message.workspace_id)
        .execution_options(synchronize_session=False)
    ).all()
    for message_id, workspace_id in cancelled:
        session.add(MessageEvent(workspace_id=workspace_id, message_id=message_id, status="failed", detail=why))
    return [message_id for message_id, _ in cancelled]


def leave_for_address(session: Session, *, workspace_id: int, channel: str, address: str, reason: str) -> list[int]:
    """An opt-out or bounce of an address (normalised): every lead holding it leaves its sequences."""
    kind = "email" if channel == "email" else "phone"
    holders = session.scalars(
        select(Contact.lead_id).where(
            Contact.workspace_id == workspace_id,
            Contact.kind == kind,
            or_(Contact.normalised_value == address, Contact.value == address),
        )
    ).all()
    if not holders:
        return []
    why = {"stop": "stop", "bounced": "bounced", "manual": "manual", "deleted": "manual"}
    return leave_sequences(
        session, lead_ids=holders, reason=why.get(reason, "unsubscribed"), detail=f"{address} suppressed ({reason})"
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
