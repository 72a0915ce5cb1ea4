"""The mark a claimed message gets just before its provider call, and what an abandoned claim becomes.

A claimed message (``sending``) is handed to its provider only after ``start_attempt`` has
committed ``attempt_started_at`` for that very claim (its ``attempts`` number), in a transaction
that also checks the address again: an unsubscribe that arrived after the batch was claimed
still stops the send. When a sender dies, its claims are found by ``settle_abandoned_claims``:
those without the mark never reached a provider and go back to the queue; those with it may have
and become ``unknown`` (never resent blindly; provider events reconcile them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, select, update

from core.db import UnitOfWork
from core.db.models import Lead, Message, MessageEvent, Suppression, utcnow
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


def _refusal(uow: UnitOfWork, *, workspace_id: int, channel: str, address: str, lead_id: int) -> str:
    """Why the message must not go now (suppressed since its claim, lead do-not-contact), or ''."""
    try:
        key = normalise_address(channel, address)
    except InvalidInput:
        key = address
    reason = uow.session.scalar(
        select(Suppression.reason).where(
            Suppression.workspace_id == workspace_id, Suppression.channel == channel, Suppression.address == key
        )
    )
    if reason:
        return f"Not sent: the address is suppressed ({reason})."
    if uow.session.scalar(select(Lead.status).where(Lead.id == lead_id)) == "do_not_contact":
        return "Not sent: the lead is marked do-not-contact."
    return ""


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
    this_claim = (
        Message.id == message_id,
        Message.status == "sending",
        Message.attempts == claim_number,
        Message.attempt_started_at.is_(None),
    )
    with uow:
        reason = _refusal(uow, workspace_id=workspace_id, channel=channel, address=address, lead_id=lead_id)
        values: dict[str, Any] = (
            {"status": "failed", "error": reason, "updated_at": now} if reason else {"attempt_started_at": now}
        )
        if not reason:
            values["updated_at"] = Message.updated_at  # it stays the claim time (the day its quota was spent)
        moved = cast(
            CursorResult[Any],
            uow.session.execute(
                update(Message).where(*this_claim).values(**values).execution_options(synchronize_session=False)
            ),
        )
        if moved.rowcount != 1:  # settled or re-queued by someone else meanwhile: not ours to send
            return AttemptStart("lost")
        if reason:
            uow.session.add(
                MessageEvent(workspace_id=workspace_id, message_id=message_id, status="failed", detail=reason)
            )
        uow.commit()
    return AttemptStart("refused", reason) if reason else AttemptStart("go")


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
