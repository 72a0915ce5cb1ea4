"""Claiming queued messages for sending, a batch per transaction, with every check in that transaction.

PostgreSQL: ``SELECT ... FOR UPDATE OF message SKIP LOCKED`` picks rows no other sender holds.
SQLite: ``BEGIN IMMEDIATE`` takes the write lock once per batch, so the read, the checks and the
claim run alone. On both, the claim is a conditional ``UPDATE ... WHERE status = 'queued'
RETURNING id``: a row moves to ``sending`` exactly once, and only the returned ids are sent.
Suppression (one query for the batch), consent, do-not-contact, an invalid address check, a sender
paused by the bounce guard (``guard.py``), the sending window and the daily
cap (one counter row per sender and day, ``quota.py``) are all checked before the commit that makes
the claim visible. An answer written from the Inbox skips the window and is not held by the cap
(``IS_ANSWER``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, tuple_, union_all, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import UnitOfWork
from core.db.models import (
    MESSAGE_STATUSES,
    Contact,
    Enrollment,
    Lead,
    Message,
    MessageEvent,
    Reply,
    Sequence,
    Suppression,
    Workspace,
)
from core.errors import InvalidInput
from core.outreach import guard, limits, quota
from core.outreach.compose import compose_outgoing, sender_address, undeliverable_sender
from core.outreach.models import OutgoingMessage
from core.outreach.sequence_stops import OPEN as OPEN_ENROLLMENTS
from core.outreach.sequence_stops import leave_sequences
from core.outreach.suppression import normalise_address

BATCH_SIZE = 50
IN_FLIGHT = ("sending", "unknown")
# Statuses a message can only have after a provider accepted it (sent_at is set then).
ACCEPTED = tuple(s for s in MESSAGE_STATUSES if s not in ("draft", "approved", "queued", *IN_FLIGHT))
UNCAPPED_COUNT_LIMIT = 1_000_000  # a day's starting count when no cap is set (one may be set later)
CAP_LOCK_CLASS = 7007  # pg_advisory_xact_lock(class, workspace): claims that count a workspace's cap take turns
# An answer written from the Inbox to someone who wrote to us: it goes at once, outside the sending window
# and past a used-up daily cap (it still counts towards the cap); suppression, consent, the address check and
# a sender paused by the bounce guard hold it like any message.
IS_ANSWER = select(Reply.id).where(Reply.answer_message_id == Message.id).exists()


@dataclass(frozen=True)
class Claimed:
    """A message this sender now owns (status ``sending``), ready for its channel."""

    message: OutgoingMessage
    provider: str
    lead_id: int
    address: str = ""  # normalised, as suppressions are keyed
    claim_number: int = 0  # the message's ``attempts`` after this claim: it identifies the claim


@dataclass(frozen=True)
class ClaimBatch:
    """What one claim transaction did; ``last_id`` is 0 when no queued message was left to look at."""

    claimed: tuple[Claimed, ...] = ()
    refused: tuple[tuple[int, str], ...] = ()
    waiting: tuple[int, ...] = ()
    capped: tuple[int, ...] = ()
    paused: tuple[int, ...] = ()  # left queued: their sender is paused by the bounce guard
    last_id: int = 0


def _candidates(session: Session, *, workspace_id: int | None, after_id: int, size: int) -> list[Any]:
    query = (
        select(
            Message.id,
            Message.workspace_id,
            Message.lead_id,
            Message.channel,
            Message.subject,
            Message.body,
            Lead.id.label("lead_found"),
            Lead.status.label("lead_status"),
            Lead.deleted_at.label("lead_trashed"),
            Lead.location,
            Lead.country,
            Contact.id.label("contact_found"),
            Contact.value,
            Contact.normalised_value,
            Contact.person_name,
            Contact.sms_consent_at,
            Contact.verification,
            Contact.verification_reasons,
            Message.in_reply_to,
            Message.thread_references,
            Message.enrollment_id,
            Enrollment.status.label("enrollment_status"),
            Sequence.status.label("sequence_status"),
            Sequence.stop_statuses,
            IS_ANSWER.label("is_answer"),
        )
        .outerjoin(Lead, Lead.id == Message.lead_id)
        .outerjoin(Contact, Contact.id == Message.contact_id)
        .outerjoin(Enrollment, Enrollment.id == Message.enrollment_id)
        .outerjoin(Sequence, Sequence.id == Enrollment.sequence_id)
        .where(Message.status == "queued", Message.id > after_id)
    )
    if workspace_id is not None:
        query = query.where(Message.workspace_id == workspace_id)
    query = query.order_by(Message.id).limit(size).with_for_update(skip_locked=True, of=Message)
    return list(session.execute(query).all())


def _suppressed(session: Session, keys: set[tuple[int, str, str]]) -> dict[tuple[int, str, str], str]:
    """(workspace, channel, address) -> reason, for the batch's addresses, in one query."""
    if not keys:
        return {}
    rows = session.execute(
        select(Suppression.workspace_id, Suppression.channel, Suppression.address, Suppression.reason).where(
            tuple_(Suppression.workspace_id, Suppression.channel, Suppression.address).in_(sorted(keys))
        )
    )
    return {(ws, channel, address): reason for ws, channel, address, reason in rows}


def counted_towards_cap(
    session: Session, *, workspace_id: int, channel: str, provider: str, since: datetime, cap: int
) -> int:
    """Messages counting towards today's cap (in flight, or accepted since ``since``), counted up to ``cap``."""
    same = (Message.workspace_id == workspace_id, Message.channel == channel, Message.provider == provider)
    in_flight = select(Message.id).where(*same, Message.status.in_(IN_FLIGHT))
    accepted = select(Message.id).where(*same, Message.status.in_(ACCEPTED), Message.sent_at >= since)
    rows = union_all(in_flight, accepted).limit(cap).subquery()
    return session.scalar(select(func.count()).select_from(rows)) or 0


def _sequence_refusal(row: Row[Any]) -> str:
    """Why a sequence's step must not go: its contact left, or the lead's status now ends the sequence."""
    if row.enrollment_id is None:
        return ""
    if row.enrollment_status in (None, "left"):
        return "Not sent: the contact left the sequence."
    if row.lead_status in (row.stop_statuses or []):
        return f"Not sent: the lead's status ({row.lead_status}) ends the sequence."
    return ""


def _sequence_paused(row: Row[Any]) -> bool:
    return row.enrollment_id is not None and "paused" in (row.enrollment_status, row.sequence_status)


def _refusal(row: Row[Any], address: str, suppressed: str | None, ws: Mapping[str, Any], from_problem: str = "") -> str:
    if row.lead_found is None or row.contact_found is None:
        return "Not sent: the lead or contact was deleted."
    if reason := _sequence_refusal(row):
        return reason
    if row.lead_trashed is not None:
        return "Not sent: the lead is in the trash."
    if row.lead_status == "do_not_contact":
        return "Not sent: the lead is marked do-not-contact."
    if not address:
        return f"Not sent: '{(row.value or '')[:80]}' is not a valid address for {row.channel}."
    if suppressed:
        return f"Not sent: the address is suppressed ({suppressed})."
    if row.channel == "email" and row.verification == "invalid":
        why = "; ".join(row.verification_reasons or []) or "no mail server"
        return f"Not sent: the address check found it invalid ({why[:300]})."
    if row.channel == "sms" and row.sms_consent_at is None and ws.get("sms_consent_required", True):
        return "Not sent: no SMS consent is recorded for this number."
    if row.channel == "email" and not (ws.get("postal_address") or "").strip():
        return "Not sent: set the workspace's postal address (required in every email) first."
    if row.channel == "email" and from_problem:
        return f"Not sent: the From address {from_problem}; set one you read on the Sending rules tab, then queue it again."
    return ""


def sender_problems(
    workspaces: Mapping[int, Mapping[str, Any]], settings: Settings, providers: Mapping[str, str]
) -> dict[int, str]:
    """Per workspace: why its From address cannot be used with the email provider ("" when it can; the outbox
    delivers nothing, so any address will do there)."""
    if providers.get("email", "outbox") == "outbox":
        return {}
    return {
        workspace_id: problem
        for workspace_id, ws in workspaces.items()
        if (problem := undeliverable_sender(sender_address(ws, settings)))
    }


def _address(row: Row[Any]) -> str:
    try:
        return normalise_address(row.channel, row.normalised_value or row.value or "")
    except InvalidInput:
        return ""


class _Caps:
    """Per (workspace, channel, provider): how many more may be claimed today (one counter row each)."""

    def __init__(self, session: Session, now: datetime, workspaces: Mapping[int, Mapping[str, Any]]) -> None:
        self.session, self.now, self.workspaces = session, now, workspaces
        self.left: dict[tuple[int, str, str], int | None] = {}
        self.day: dict[tuple[int, str, str], date] = {}

    def take(self, workspace_id: int, channel: str, provider: str) -> bool:
        """True (and one fewer left) when one more message fits under the cap."""
        key = (workspace_id, channel, provider)
        if key not in self.left:
            ws = self.workspaces[workspace_id]
            cap = limits.daily_cap(ws, channel)
            since = limits.start_of_day(self.now, ws.get("timezone") or "UTC")
            self.day[key] = since.date()
            spent = quota.used(
                self.session,
                workspace_id=workspace_id,
                channel=channel,
                provider=provider,
                day=since.date(),
                count_so_far=lambda: counted_towards_cap(
                    self.session,
                    workspace_id=workspace_id,
                    channel=channel,
                    provider=provider,
                    since=since,
                    cap=cap or UNCAPPED_COUNT_LIMIT,
                ),
            )
            self.left[key] = None if cap is None else cap - spent
        left = self.left[key]
        if left is not None and left <= 0:
            return False
        if left is not None:
            self.left[key] = left - 1
        return True

    def spend(self, claimed: Mapping[tuple[int, str, str], int]) -> None:
        """Add what was claimed to each sender's counter for the day."""
        for (workspace_id, channel, provider), count in claimed.items():
            if count:
                quota.spend(
                    self.session,
                    workspace_id=workspace_id,
                    channel=channel,
                    provider=provider,
                    day=self.day[(workspace_id, channel, provider)],
                    count=count,
                )


def _lock_caps(session: Session, workspace_ids: set[int]) -> None:
    # PostgreSQL: two senders must not both count a cap before either commits (sorted: no deadlock).
    # SQLite needs nothing more: BEGIN IMMEDIATE already made this transaction the only writer.
    if session.get_bind().dialect.name == "postgresql":
        for workspace_id in sorted(workspace_ids):
            session.execute(select(func.pg_advisory_xact_lock(CAP_LOCK_CLASS, workspace_id)))


def claim_batch(
    *,
    uow: UnitOfWork,
    settings: Settings,
    providers: dict[str, str],
    now: datetime,
    workspace_id: int | None = None,
    after_id: int = 0,
    size: int = BATCH_SIZE,
) -> ClaimBatch:
    """Claim up to ``size`` queued messages after ``after_id`` (queued -> sending), refusing those that must not go."""
    with uow:
        session = uow.session
        if session.get_bind().dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        rows = _candidates(session, workspace_id=workspace_id, after_id=after_id, size=size)
        if not rows:
            return ClaimBatch()
        workspace_ids = {row.workspace_id for row in rows}
        _lock_caps(session, workspace_ids)
        workspaces: dict[int, dict[str, Any]] = dict(
            session.execute(select(Workspace.id, Workspace.settings).where(Workspace.id.in_(workspace_ids))).all()
        )
        addresses = {row.id: _address(row) for row in rows}
        suppressed = _suppressed(
            session, {(row.workspace_id, row.channel, addresses[row.id]) for row in rows if addresses[row.id]}
        )
        caps = _Caps(session, now, workspaces)
        from_problems = sender_problems(workspaces, settings, providers)
        held = guard.paused_keys(session, workspace_ids)
        to_claim: list[Row[Any]] = []
        refused: list[tuple[int, str]] = []
        waiting: list[int] = []
        capped: list[int] = []
        paused: list[int] = []
        for row in rows:
            ws = workspaces[row.workspace_id]
            reason = _refusal(
                row,
                addresses[row.id],
                suppressed.get((row.workspace_id, row.channel, addresses[row.id])),
                ws,
                from_problems.get(row.workspace_id, ""),
            )
            if reason:
                refused.append((row.id, reason))
                continue
            if _sequence_paused(row):
                waiting.append(row.id)
                continue
            if (row.workspace_id, row.channel, providers[row.channel]) in held:
                paused.append(row.id)
                continue
            zones = limits.recipient_zones(
                location=row.location or "",
                country=row.country or "",
                phone=row.value if row.channel == "sms" else "",
                fallback=ws.get("timezone") or "UTC",
            )
            if row.is_answer:
                caps.take(row.workspace_id, row.channel, providers[row.channel])  # counted, never held
                to_claim.append(row)
            elif not limits.in_window(now, zones, limits.window_of(ws)):
                waiting.append(row.id)
            elif not caps.take(row.workspace_id, row.channel, providers[row.channel]):
                capped.append(row.id)
            else:
                to_claim.append(row)
        claimed_ids = _move_to_sending(session, to_claim, providers, now)
        caps.spend(
            Counter(
                (row.workspace_id, row.channel, providers[row.channel]) for row in to_claim if row.id in claimed_ids
            )
        )
        _refuse(session, rows, refused, providers, now)
        _leave_refused_sequences(session, rows, refused)
        uow.commit()
    claimed = tuple(
        Claimed(
            message=compose_outgoing(
                message_id=row.id,
                workspace_id=row.workspace_id,
                channel=row.channel,
                subject=row.subject,
                body=row.body,
                address=row.value,
                person_name=row.person_name or "",
                workspace_settings=workspaces[row.workspace_id],
                settings=settings,
                in_reply_to=row.in_reply_to or "",
                references=row.thread_references or "",
            ),
            provider=providers[row.channel],
            lead_id=row.lead_id,
            address=addresses[row.id],
            claim_number=claimed_ids[row.id],
        )
        for row in to_claim
        if row.id in claimed_ids
    )
    return ClaimBatch(
        claimed=claimed,
        refused=tuple(refused),
        waiting=tuple(waiting),
        capped=tuple(capped),
        paused=tuple(paused),
        last_id=rows[-1].id,
    )


def _move_to_sending(
    session: Session, rows: list[Row[Any]], providers: dict[str, str], now: datetime
) -> dict[int, int]:
    """queued -> sending for the rows still queued; returns their ids with their claim number."""
    moved: dict[int, int] = {}
    by_channel: dict[str, list[Row[Any]]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row)
    for channel, group in by_channel.items():
        result = session.execute(
            update(Message)
            .where(Message.id.in_([row.id for row in group]), Message.status == "queued")
            .values(
                status="sending",
                provider=providers[channel],
                attempts=Message.attempts + 1,
                attempt_started_at=None,
                updated_at=now,
            )
            .returning(Message.id, Message.attempts)
            .execution_options(synchronize_session=False)
        )
        moved.update({message_id: claim_number for message_id, claim_number in result})
    events = [
        {
            "workspace_id": row.workspace_id,
            "message_id": row.id,
            "status": "sending",
            "detail": f"claimed for {providers[row.channel]}",
        }
        for row in rows
        if row.id in moved
    ]
    if events:
        session.execute(insert(MessageEvent), events)
    return moved


def _leave_refused_sequences(session: Session, rows: list[Row[Any]], refused: list[tuple[int, str]]) -> None:
    """A refused step ends its enrolment (in the claim's transaction): the contact must not get the next one."""
    by_id = {row.id: row for row in rows}
    for message_id, reason in refused:
        row = by_id[message_id]
        if row.enrollment_id is not None and row.enrollment_status in OPEN_ENROLLMENTS:
            why = "status" if row.lead_status in (row.stop_statuses or []) else "not_sent"
            leave_sequences(session, lead_ids=(), enrollment_ids=[row.enrollment_id], reason=why, detail=reason)


def _refuse(
    session: Session, rows: list[Row[Any]], refused: list[tuple[int, str]], providers: dict[str, str], now: datetime
) -> None:
    if not refused:
        return
    by_id = {row.id: row for row in rows}
    table = cast(Table, Message.__table__)
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.status == "queued")
        .values(
            status="failed",
            error=bindparam("b_error"),
            provider=bindparam("b_provider"),
            attempts=table.c.attempts + 1,
            updated_at=now,
        ),
        [{"b_id": mid, "b_error": reason, "b_provider": providers[by_id[mid].channel]} for mid, reason in refused],
    )
    session.execute(
        insert(MessageEvent),
        [
            {"workspace_id": by_id[mid].workspace_id, "message_id": mid, "status": "failed", "detail": reason}
            for mid, reason in refused
        ],
    )
