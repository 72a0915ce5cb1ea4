"""The sequence scheduler: each due step, in one transaction, re-checks why the contact might leave, then
becomes a message of the ordinary outbox (so the claim's suppression, consent, window, cap and
exactly-once guard all apply to it).

A step's delay counts working days from when the previous step went out, so the next step is only
scheduled once the previous message was accepted by its provider; a previous step that failed ends
the enrolment. Follow-up emails carry ``In-Reply-To``/``References`` of the earlier emails and
"Re: <first subject>" unless the step has a subject of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import (
    Enrollment,
    Lead,
    Message,
    MessageEvent,
    Sequence,
    SequenceStep,
    Workspace,
    utcnow,
)
from core.llm import LLM, get_llm
from core.outreach.sequence_stops import leave_sequences
from core.outreach.service import queue_approved
from core.sequences.ai_steps import AI_LEASE, AiStep, draft_ai_step, lock_enrollment
from core.sequences.calendar import add_working_days
from core.sequences.leaving import leaving_reason
from core.sequences.models import AdvanceSummary
from core.sequences.step_messages import step_taken, template_message

ON_ITS_WAY = ("draft", "approved", "queued", "sending", "unknown")  # the previous step has not settled yet
BATCH = 500


def _due(now: datetime) -> Any:
    last = aliased(Message)
    return (
        select(Enrollment.id)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .outerjoin(last, last.id == Enrollment.last_message_id)
        .where(
            Enrollment.status == "active",
            Sequence.status == "active",
            or_(
                Enrollment.next_due_at <= now,
                and_(Enrollment.next_due_at.is_(None), or_(last.id.is_(None), last.status.not_in(ON_ITS_WAY))),
            ),
        )
    )


def _stranded() -> Any:
    """Steps made but never queued: their scheduler died between the step's transaction and the queueing
    checks that follow it. The next pass queues them (``queue_approved`` moves each one once)."""
    return (
        select(Message.id)
        .join(Enrollment, Enrollment.id == Message.enrollment_id)
        .where(Message.status == "approved", Enrollment.status == "active")
    )


def any_step_due(*, now: datetime | None = None, uow: UnitOfWork | None = None) -> bool:
    """True when some enrolment has a step to queue or a sent step to schedule the next one after, or a
    step was made and not queued."""
    uow = uow or UnitOfWork()
    with uow:
        return bool(
            uow.session.scalar(select(exists(_due(now or utcnow())))) or uow.session.scalar(select(exists(_stranded())))
        )


@dataclass(frozen=True)
class _Step:
    outcome: str  # queued, waiting_approval, drafting, left, finished, scheduled, skipped
    message_id: int | None = None
    ai: AiStep | None = None  # an AI draft to write outside the transaction


def advance_due(
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
    limit: int = BATCH,
    llm_factory: Callable[[], LLM | None] | None = None,
) -> AdvanceSummary:
    """Queue every due step (one transaction per enrolment), then run the outbox's queueing checks on them.

    AI draft steps are written after their transaction (no lock is held while the model answers) and
    adopted in a second one that checks the leaving conditions again."""
    now = now or utcnow()
    settings = settings or get_settings()
    with uow_factory() as uow:
        ids = list(uow.session.scalars(_due(now).order_by(Enrollment.id).limit(limit)))
        stranded = list(uow.session.scalars(_stranded().order_by(Message.id).limit(limit)))
    counts = dict.fromkeys(("queued", "waiting_approval", "drafting", "left", "finished", "scheduled", "skipped"), 0)
    made: list[int] = list(stranded)
    drafts: list[AiStep] = []
    for enrollment_id in ids:
        step = _advance_one(uow_factory(), enrollment_id, now, settings)
        counts[step.outcome] += 1
        if step.message_id is not None:
            made.append(step.message_id)
        if step.ai is not None:
            drafts.append(step.ai)
    llm = (llm_factory or (lambda: get_llm(settings)))() if drafts else None
    for job in drafts:
        outcome, message_id = draft_ai_step(job=job, llm=llm, settings=settings, uow_factory=uow_factory)
        counts[outcome] += 1
        if message_id is not None:
            made.append(message_id)
    if made:
        # The address check (DNS) runs outside the step's transaction; a reply meanwhile cancels the step.
        queue_approved(
            workspace_id=None, by="the sequence scheduler", message_ids=made, include_risky=True, uow=uow_factory()
        )
    return AdvanceSummary(
        queued=counts["queued"],
        waiting_approval=counts["waiting_approval"],
        left=counts["left"],
        finished=counts["finished"],
        scheduled=counts["scheduled"],
    )


def _advance_one(uow: UnitOfWork, enrollment_id: int, now: datetime, settings: Settings) -> _Step:
    with uow:
        session = uow.session
        enrollment = lock_enrollment(session, enrollment_id)
        if enrollment is None:
            return _Step("skipped")
        sequence = session.get(Sequence, enrollment.sequence_id)
        if sequence is None or sequence.status != "active":
            return _Step("skipped")
        workspace = session.get(Workspace, enrollment.workspace_id)
        ws: dict[str, Any] = dict(workspace.settings) if workspace else {}
        steps = {
            s.position: s for s in session.scalars(select(SequenceStep).where(SequenceStep.sequence_id == sequence.id))
        }
        step = _Step("skipped")
        if enrollment.next_due_at is None:
            step = _schedule_next(session, enrollment, steps, ws, now)
        if step.outcome == "skipped":
            step = _queue_step(session, enrollment, sequence, steps, ws, settings, now)
        uow.commit()
        return step


def _leave(session: Session, enrollment: Enrollment, reason: str, detail: str) -> _Step:
    leave_sequences(session, lead_ids=(), enrollment_ids=[enrollment.id], reason=reason, detail=detail)
    return _Step("left")


def _schedule_next(
    session: Session, enrollment: Enrollment, steps: dict[int, SequenceStep], ws: dict[str, Any], now: datetime
) -> _Step:
    """The previous step settled: end the enrolment, or set when the next step is due ("skipped": due now)."""
    last = session.get(Message, enrollment.last_message_id) if enrollment.last_message_id else None
    if last is None:
        return _leave(session, enrollment, "not_sent", "the previous step's message was deleted")
    if last.status in ON_ITS_WAY:
        return _Step("scheduled")
    if last.status == "failed":
        return _leave(session, enrollment, "not_sent", f"step {last.step} was not sent: {last.error}"[:500])
    following = steps.get(enrollment.next_position or 0)
    if following is None:
        enrollment.status, enrollment.next_position, enrollment.ended_at = "finished", None, now
        return _Step("finished")
    enrollment.next_due_at = add_working_days(last.sent_at or now, following.delay_days, ws)
    return _Step("scheduled") if enrollment.next_due_at > now else _Step("skipped")


def _queue_step(
    session: Session,
    enrollment: Enrollment,
    sequence: Sequence,
    steps: dict[int, SequenceStep],
    ws: dict[str, Any],
    settings: Settings,
    now: datetime,
) -> _Step:
    """Leaving re-checked, then the due step becomes an approved outbox message of this enrolment."""
    lead = session.get(Lead, enrollment.lead_id)
    reason, detail = leaving_reason(session, enrollment, sequence, lead)
    if reason:
        return _leave(session, enrollment, reason, detail)
    assert lead is not None
    step = steps.get(enrollment.next_position or 0)
    if step is None:
        enrollment.status, enrollment.next_position, enrollment.ended_at = "finished", None, now
        return _Step("finished")
    if step.use_ai:  # the lease keeps other schedulers off it while the model writes the draft
        enrollment.next_due_at = (now + AI_LEASE).replace(microsecond=0)
        job = AiStep(
            enrollment.id,
            enrollment.workspace_id,
            lead.id,
            step.position,
            step.channel,
            sequence.name,
            enrollment.next_due_at,
        )
        return _Step("drafting", ai=job)
    made = template_message(session, enrollment, step, lead, ws, settings)
    if isinstance(made, str):
        return _leave(session, enrollment, "not_sent", f"step {step.position}: {made}"[:500])
    session.add(
        MessageEvent(
            workspace_id=enrollment.workspace_id,
            message_id=made.id,
            status="approved",
            detail=f"step {step.position} of sequence '{sequence.name}'"[:2000],
        )
    )
    step_taken(enrollment, made.id, step.position, list(steps))
    return _Step("queued", made.id)
