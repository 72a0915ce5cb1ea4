"""AI draft steps: the model writes the step (grounded in the lead's evidence, ``outreach.drafts``) outside
any transaction; a second transaction checks the leaving conditions again and adopts the draft into the
thread. A draft whose evidence check flagged a claim waits for a person to approve it on the Outreach page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import UnitOfWork
from core.db.models import Enrollment, Lead, Message, MessageEvent, Sequence, SequenceStep, Workspace, utcnow
from core.llm import LLM
from core.outreach.drafts import DraftOutcome, create_ai_drafts
from core.outreach.sequence_stops import leave_sequences
from core.sequences.leaving import leaving_reason
from core.sequences.step_messages import adopt_draft, step_taken

AI_LEASE = timedelta(minutes=15)  # a scheduler that died while drafting: the step is due again after this


@dataclass(frozen=True)
class AiStep:
    """A step an AI draft is being written for, and the lease (``next_due_at``) its scheduler holds."""

    enrollment_id: int
    workspace_id: int
    lead_id: int
    position: int
    channel: str
    sequence_name: str
    lease: datetime


def lock_enrollment(session: Session, enrollment_id: int) -> Enrollment | None:
    """The active enrolment, locked for this transaction (None: gone, ended, or another scheduler holds it)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    return session.scalar(
        select(Enrollment)
        .where(Enrollment.id == enrollment_id, Enrollment.status == "active")
        .with_for_update(skip_locked=True)
    )


def _draft_id(session: Session, job: AiStep, outcome: DraftOutcome | None) -> int | None:
    if outcome is not None and outcome.created:
        return outcome.created[0]
    # An earlier scheduler saved the draft and died before adopting it: adopt that one.
    return session.scalar(
        select(Message.id).where(
            Message.lead_id == job.lead_id,
            Message.channel == job.channel,
            Message.step == job.position,
            Message.enrollment_id.is_(None),
            Message.status == "draft",
        )
    )


def draft_ai_step(
    *, job: AiStep, llm: LLM | None, settings: Settings, uow_factory: Callable[[], UnitOfWork]
) -> tuple[str, int | None]:
    """Write and adopt the step's AI draft: ("queued", message id), ("waiting_approval", None), ("left", None)
    or ("skipped", None) when the enrolment changed meanwhile."""
    outcome = None
    if llm is not None:
        outcome = create_ai_drafts(
            workspace_id=job.workspace_id,
            lead_ids=[job.lead_id],
            channel=job.channel,
            llm=llm,
            step=job.position,
            uow_factory=uow_factory,
        )
    with uow_factory() as uow:
        session = uow.session
        enrollment = lock_enrollment(session, job.enrollment_id)
        message_id = _draft_id(session, job, outcome)
        if enrollment is None or (enrollment.next_position, enrollment.next_due_at) != (job.position, job.lease):
            if outcome is not None and outcome.created:  # ours, and nobody will adopt it
                _discard(session, message_id, "Not sent: the contact's sequence moved on while it was drafted.")
            uow.commit()
            return "skipped", None
        result = _adopt(session, enrollment, job, llm, outcome, message_id, settings)
        uow.commit()
        return result


def _discard(session: Session, message_id: int | None, why: str) -> None:
    if message_id is not None:
        session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == "draft")
            .values(status="failed", error=why, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def _leave(session: Session, enrollment: Enrollment, reason: str, detail: str) -> tuple[str, None]:
    leave_sequences(session, lead_ids=(), enrollment_ids=[enrollment.id], reason=reason, detail=detail[:500])
    return "left", None


def _adopt(
    session: Session,
    enrollment: Enrollment,
    job: AiStep,
    llm: LLM | None,
    outcome: DraftOutcome | None,
    message_id: int | None,
    settings: Settings,
) -> tuple[str, int | None]:
    if llm is None and message_id is None:
        return _leave(session, enrollment, "not_sent", f"step {job.position}: AI drafts need an OpenAI key")
    if message_id is None:
        why = outcome.skipped[0][1] if outcome is not None and outcome.skipped else "the AI wrote no draft"
        return _leave(session, enrollment, "not_sent", f"step {job.position}: {why}")
    message = session.get(Message, message_id)
    lead = session.get(Lead, job.lead_id)
    sequence_steps = list(
        session.scalars(select(SequenceStep).where(SequenceStep.sequence_id == enrollment.sequence_id))
    )
    step = next((s for s in sequence_steps if s.position == job.position), None)
    if message is None or lead is None or step is None:
        return _leave(session, enrollment, "not_sent", f"step {job.position} changed while it was drafted")
    message.enrollment_id = enrollment.id  # from here, leaving cancels it with the enrolment's other messages
    sequence = session.get(Sequence, enrollment.sequence_id)
    reason, detail = leaving_reason(session, enrollment, sequence, lead) if sequence else ("status", "no sequence")
    if reason:
        return _leave(session, enrollment, reason, detail)
    workspace = session.get(Workspace, enrollment.workspace_id)
    ws: dict[str, Any] = dict(workspace.settings) if workspace else {}
    problem = adopt_draft(session, enrollment, step, message, lead, ws, settings)
    if problem:
        _discard(session, message.id, f"Not sent: {problem}")
        return _leave(session, enrollment, "not_sent", f"step {job.position}: {problem}")
    waiting = message.status == "draft"
    session.add(
        MessageEvent(
            workspace_id=enrollment.workspace_id,
            message_id=message.id,
            status=message.status,
            detail=(
                f"AI draft for step {job.position} of sequence '{job.sequence_name}'"
                + ("; waiting for approval: a claim has no evidence" if waiting else "")
            )[:2000],
        )
    )
    step_taken(enrollment, message.id, job.position, [s.position for s in sequence_steps])
    if waiting:
        enrollment.detail = f"step {job.position} waits for approval on the Outreach page"
        return "waiting_approval", None
    return "queued", message.id
