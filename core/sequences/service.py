"""Sequences the page calls: create and edit them with their steps, pause and resume, list and funnel.

Enrolment is in ``enrolment``; the scheduler that queues each due step is in ``advance``.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from core.actor import Actor
from core.audit import audit
from core.db import UnitOfWork
from core.db.models import Campaign, Enrollment, Sequence, SequenceStep, Template
from core.errors import InvalidInput, NotFound
from core.outreach.models import CHANNELS
from core.outreach.templates import check_template, refuse_line_breaks
from core.sequences.models import (
    DEFAULT_STOP_STATUSES,
    MAX_DELAY_DAYS,
    MAX_STEPS,
    STOP_CHOICES,
    SequenceView,
    StepInput,
    StepView,
)


def sequence_or_raise(uow: UnitOfWork, workspace_id: int, sequence_id: int) -> Sequence:
    """The workspace's sequence, or ``NotFound`` (another workspace's is not found either)."""
    row = uow.session.get(Sequence, sequence_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("That sequence does not exist in this workspace.")
    return row


def _check_steps(uow: UnitOfWork, workspace_id: int, steps: list[StepInput]) -> None:
    if not steps:
        raise InvalidInput("A sequence needs at least one step.")
    if len(steps) > MAX_STEPS:
        raise InvalidInput(f"A sequence has at most {MAX_STEPS} steps.")
    for number, step in enumerate(steps, start=1):
        if step.channel not in CHANNELS:
            raise InvalidInput(f"Step {number}: the channel must be email or sms.")
        if not 0 <= step.delay_days <= MAX_DELAY_DAYS:
            raise InvalidInput(f"Step {number}: the delay is 0 to {MAX_DELAY_DAYS} working days.")
        if step.subject:
            refuse_line_breaks("subject", step.subject)
            check_template(subject=step.subject, body="-")
        if step.use_ai:
            continue
        template = uow.session.get(Template, step.template_id) if step.template_id is not None else None
        if template is None or template.workspace_id != workspace_id:
            raise InvalidInput(f"Step {number}: choose a template (or an AI draft).")
        if template.channel != step.channel:
            raise InvalidInput(
                f"Step {number}: '{template.name}' is an {template.channel} template, not {step.channel}."
            )


def save_sequence(
    *,
    actor: Actor,
    name: str,
    steps: list[StepInput],
    stop_statuses: tuple[str, ...] = DEFAULT_STOP_STATUSES,
    campaign_id: int | None = None,
    sequence_id: int | None = None,
    uow: UnitOfWork | None = None,
) -> int:
    """Create a sequence or replace its name, stop statuses and steps; returns its id.

    Contacts already enrolled keep their place: the step numbers they have not reached use the new steps."""
    actor.require_permission("sequence.edit")
    name = refuse_line_breaks("sequence name", name.strip())
    if not name or len(name) > 200:
        raise InvalidInput("A sequence needs a name (up to 200 characters).")
    unknown = set(stop_statuses) - set(STOP_CHOICES)
    if unknown:
        raise InvalidInput(f"Unknown lead statuses to stop on: {', '.join(sorted(unknown))}.")
    uow = uow or UnitOfWork()
    with uow:
        _check_steps(uow, actor.workspace_id, steps)
        if campaign_id is not None:
            campaign = uow.session.get(Campaign, campaign_id)
            if campaign is None or campaign.workspace_id != actor.workspace_id:
                raise NotFound("That campaign does not exist in this workspace.")
        if sequence_id is None:
            row = Sequence(workspace_id=actor.workspace_id, created_by=actor.user_id, status="active")
            uow.session.add(row)
        else:
            row = sequence_or_raise(uow, actor.workspace_id, sequence_id)
        row.name, row.campaign_id, row.stop_statuses = name, campaign_id, sorted(set(stop_statuses))
        try:
            uow.flush()
        except IntegrityError as exc:
            raise InvalidInput(f"A sequence named '{name}' already exists.") from exc
        uow.session.execute(delete(SequenceStep).where(SequenceStep.sequence_id == row.id))
        for position, step in enumerate(steps, start=1):
            uow.session.add(
                SequenceStep(
                    sequence_id=row.id,
                    position=position,
                    channel=step.channel,
                    template_id=None if step.use_ai else step.template_id,
                    use_ai=step.use_ai,
                    delay_days=step.delay_days,
                    subject=step.subject.strip() if step.channel == "email" else "",
                )
            )
        uow.flush()
        audit(
            uow, "sequence.saved", actor=actor, target_type="sequence", target_id=row.id, detail={"steps": len(steps)}
        )
        uow.commit()
        return row.id


def set_sequence_status(*, actor: Actor, sequence_id: int, status: str, uow: UnitOfWork | None = None) -> None:
    """Pause (no step is queued or sent) or resume a whole sequence."""
    actor.require_permission("sequence.edit")
    if status not in ("active", "paused"):
        raise InvalidInput("A sequence is active or paused.")
    uow = uow or UnitOfWork()
    with uow:
        row = sequence_or_raise(uow, actor.workspace_id, sequence_id)
        row.status = status
        audit(
            uow,
            f"sequence.{'resumed' if status == 'active' else 'paused'}",
            actor=actor,
            target_type="sequence",
            target_id=row.id,
        )
        uow.commit()


def _steps(uow: UnitOfWork, sequence_id: int) -> tuple[StepView, ...]:
    rows = uow.session.execute(
        select(SequenceStep, Template.name)
        .outerjoin(Template, Template.id == SequenceStep.template_id)
        .where(SequenceStep.sequence_id == sequence_id)
        .order_by(SequenceStep.position)
    ).all()
    return tuple(
        StepView(
            position=step.position,
            channel=step.channel,
            template_id=step.template_id,
            template_name="AI draft" if step.use_ai else (template_name or "(template deleted)"),
            use_ai=step.use_ai,
            delay_days=step.delay_days,
            subject=step.subject,
        )
        for step, template_name in rows
    )


def _view(uow: UnitOfWork, row: Sequence) -> SequenceView:
    counts = dict(
        uow.session.execute(
            select(Enrollment.status, func.count()).where(Enrollment.sequence_id == row.id).group_by(Enrollment.status)
        ).all()
    )
    return SequenceView(
        id=row.id,
        name=row.name,
        status=row.status,
        campaign_id=row.campaign_id,
        stop_statuses=tuple(row.stop_statuses),
        steps=_steps(uow, row.id),
        counts={status: int(counts.get(status, 0)) for status in ("active", "paused", "finished", "left")},
    )


def list_sequences(*, actor: Actor, uow: UnitOfWork | None = None) -> list[SequenceView]:
    """The workspace's sequences by name, with their steps and enrolment counts."""
    actor.require_permission("sequence.view")
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.scalars(
            select(Sequence).where(Sequence.workspace_id == actor.workspace_id).order_by(Sequence.name)
        ).all()
        return [_view(uow, row) for row in rows]


def get_sequence_or_raise(*, actor: Actor, sequence_id: int, uow: UnitOfWork | None = None) -> SequenceView:
    """One sequence with its steps, or ``NotFound``."""
    actor.require_permission("sequence.view")
    uow = uow or UnitOfWork()
    with uow:
        return _view(uow, sequence_or_raise(uow, actor.workspace_id, sequence_id))
