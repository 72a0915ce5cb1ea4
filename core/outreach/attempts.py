"""The mark a claimed message gets just before its provider call, and what an abandoned claim becomes.

A claimed message (``sending``) is handed to its provider only after ``start_attempt`` has
committed ``attempt_started_at`` for that very claim (its ``attempts`` number), in a transaction
that also checks the address again: an unsubscribe (or, for a sequence's step, a reply that ended
the enrolment) that arrived after the batch was claimed still stops the send. When a sender dies, its claims are found by ``settle_abandoned_claims``:
those without the mark never reached a provider and go back to the queue; those with it may have
and become ``unknown`` (never resent blindly; provider events reconcile them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, Table, Update, bindparam, select, update

from core.db import UnitOfWork
from core.db.models import Enrollment, Lead, Message, MessageEvent, Suppression, utcnow
from core.errors import InvalidInput
from core.outreach.outcomes import release_unsent
from core.outreach.suppression import normalise_address

UNKNOWN_ERROR = (
    "The sender stopped during the provider call; the provider may have it. "
    "Waiting for a provider event; it will not be sent again."
)


@dataclass(frozen=True)
class AttemptStart:
    """Whether a claimed message may go to its provider now: ``go``, ``refused`` (with why) or ``lost``."""

    verdict: Literal["go", "refused", "lost"]
    reason: str = ""


def _suppression_key(channel: str, address: str) -> str:
    try:
        return normalise_address(channel, address)
    except InvalidInput:
        return address


def _refusal(uow: UnitOfWork, *, message_id: int, workspace_id: int, channel: str, address: str, lead_id: int) -> str:
    """Why the message must not go now (suppressed since its claim, lead do-not-contact, its contact left
    the sequence), or ''."""
    reason = uow.session.scalar(
        select(Suppression.reason).where(
            Suppression.workspace_id == workspace_id,
            Suppression.channel == channel,
            Suppression.address == _suppression_key(channel, address),
        )
    )
    if reason:
        return f"Not sent: the address is suppressed ({reason})."
    if uow.session.scalar(select(Lead.status).where(Lead.id == lead_id)) == "do_not_contact":
        return "Not sent: the lead is marked do-not-contact."
    if uow.session.scalar(
        select(Enrollment.status)
        .join(Message, Message.enrollment_id == Enrollment.id)
        .where(Message.id == message_id, Enrollment.status == "left")
    ):
        return "Not sent: the contact left the sequence."
    return ""


def _start_statement() -> Update:
    # Built once with bind parameters: the per-message cost is one cached statement and a commit.
    message, suppression, lead, enrollment = (
        cast(Table, m.__table__) for m in (Message, Suppression, Lead, Enrollment)
    )
    suppressed = (
        select(suppression.c.id)
        .where(
            suppression.c.workspace_id == bindparam("b_workspace"),
            suppression.c.channel == bindparam("b_channel"),
            suppression.c.address == bindparam("b_address"),
        )
        .exists()
    )
    do_not_contact = select(lead.c.id).where(lead.c.id == bindparam("b_lead"), lead.c.status == "do_not_contact")
    left_sequence = select(enrollment.c.id).where(
        enrollment.c.id == message.c.enrollment_id, enrollment.c.status == "left"
    )
    return (
        update(message)
        .where(
            message.c.id == bindparam("b_id"),
            message.c.status == "sending",
            message.c.attempts == bindparam("b_claim"),
            message.c.attempt_started_at.is_(None),
            ~suppressed,
            ~do_not_contact.exists(),
            ~left_sequence.exists(),
        )
        .values(attempt_started_at=bindparam("b_now"), updated_at=message.c.updated_at)  # stays the claim time
    )


_START = _start_statement()


def start_attempt(
    *,
    uow: UnitOfWork,
    message_id: int,
    workspace_id: int,
    channel: str,
    address: str,
    lead_id: int,
    claim_number: int,
    now: datetime,
) -> AttemptStart:
    """Commit that this claim's provider call begins, unless the address may no longer be contacted."""
    params = {
        "b_id": message_id,
        "b_claim": claim_number,
        "b_workspace": workspace_id,
        "b_channel": channel,
        "b_address": _suppression_key(channel, address),
        "b_lead": lead_id,
        "b_now": now,
    }
    with uow:
        # The usual case in one statement: this claim is still ours and the address may be contacted.
        if cast(CursorResult[Any], uow.session.connection().execute(_START, params)).rowcount == 1:
            uow.commit()
            return AttemptStart("go")
        reason = _refusal(
            uow, message_id=message_id, workspace_id=workspace_id, channel=channel, address=address, lead_id=lead_id
        )
        this_claim = (
            Message.id == message_id,
            Message.status == "sending",
            Message.attempts == claim_number,
            Message.attempt_started_at.is_(None),
        )
        if (
            not reason
            or _execute(uow, update(Message).where(*this_claim).values(status="failed", error=reason, updated_at=now))
            != 1
        ):  # settled or re-queued by someone else meanwhile: not ours to send
            return AttemptStart("lost")
        uow.session.add(MessageEvent(workspace_id=workspace_id, message_id=message_id, status="failed", detail=reason))
        uow.commit()
    return AttemptStart("refused", reason)


def _execute(uow: UnitOfWork, statement: Update) -> int:
    result = cast(CursorResult[Any], uow.session.execute(statement.execution_options(synchronize_session=False)))
    return result.rowcount


def settle_abandoned_claims(*, older_than_seconds: float, uow_factory: Callable[[], UnitOfWork] = UnitOfWork) -> int:
    """Claims stuck in ``sending`` (their sender died): never attempted -> queued, attempted -> ``unknown``.

    Returns how many were settled either way.
    """
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with uow_factory() as uow:
        stale = uow.session.execute(
            select(Message.id, Message.attempt_started_at).where(
                Message.status == "sending", Message.updated_at <= cutoff
            )
        ).all()
    never_attempted = [message_id for message_id, started in stale if started is None]
    released = release_unsent(message_ids=never_attempted, uow=uow_factory()) if never_attempted else 0
    attempted = [message_id for message_id, started in stale if started is not None]
    return released + _mark_unknown(attempted, uow_factory())


def _mark_unknown(message_ids: list[int], uow: UnitOfWork) -> int:
    if not message_ids:
        return 0
    with uow:
        rows = uow.session.execute(
            update(Message)
            .where(Message.id.in_(message_ids), Message.status == "sending", Message.attempt_started_at.is_not(None))
            .values(status="unknown", error=UNKNOWN_ERROR)
            .returning(Message.id, Message.workspace_id)
            .execution_options(synchronize_session=False)
        ).all()
        for message_id, workspace_id in rows:
            uow.session.add(
                MessageEvent(
                    workspace_id=workspace_id,
                    message_id=message_id,
                    status="unknown",
                    detail="sender stopped mid-send",
                )
            )
        uow.commit()
    return len(rows)
