"""Putting leads into a sequence (with the reasons some are skipped), pausing, resuming and taking them out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actor import Actor
from core.audit import audit
from core.db import UnitOfWork
from core.db.models import Enrollment, Lead, Message, Sequence, SequenceStep, Workspace, utcnow
from core.errors import InvalidInput, NotFound
from core.outreach.compose import refuse_unsendable_contact
from core.outreach.context import pick_contact
from core.outreach.sequence_stops import OPEN, leave_sequences
from core.outreach.suppression import is_suppressed
from core.sequences.calendar import add_working_days
from core.sequences.models import EnrollmentView, EnrolOutcome
from core.sequences.service import sequence_or_raise

MAX_SHOWN = 1000
NO_ADDRESS = {"email": "no usable email address", "sms": "no phone number"}


def _skip_reason(session: Session, *, lead: Lead, sequence: Sequence, steps: list[SequenceStep], ws: dict) -> str:
    """Why this lead cannot enter the sequence, or ``""``."""
    if lead.status == "do_not_contact":
        return "marked do-not-contact"
    if lead.status in sequence.stop_statuses:
        return f"status is {lead.status}"
    for step in steps:
        contact = pick_contact(session, lead=lead, channel=step.channel)
        if contact is None:
            return NO_ADDRESS[step.channel]
        try:
            refuse_unsendable_contact(contact, channel=step.channel)
            suppressed = is_suppressed(
                session,
                workspace_id=lead.workspace_id,
                channel=step.channel,
                address=contact.normalised_value or contact.value,
            )
        except InvalidInput:
            return NO_ADDRESS[step.channel]
        if suppressed:
            return f"suppressed ({suppressed})"
        if step.channel == "sms" and contact.sms_consent_at is None and ws.get("sms_consent_required", True):
            return "no SMS consent recorded"
        taken = session.scalar(
            select(Message.id).where(
                Message.lead_id == lead.id,
                Message.contact_id == contact.id,
                Message.channel == step.channel,
                Message.step == step.position,
            )
        )
        if taken is not None:
            return f"already has a step {step.position} {step.channel} message from other outreach"
    return ""


def enrol(
    *, actor: Actor, sequence_id: int, lead_ids: list[int], dry_run: bool = False, uow: UnitOfWork | None = None
) -> EnrolOutcome:
    """Enrol the selected leads (``dry_run``: only say who would be enrolled and who skipped, and why)."""
    actor.require_permission("sequence.enrol")
    uow = uow or UnitOfWork()
    enrolled: list[int] = []
    skipped: list[tuple[int, str]] = []
    now = utcnow()
    with uow:
        session = uow.session
        sequence = sequence_or_raise(uow, actor.workspace_id, sequence_id)
        steps = list(
            session.scalars(
                select(SequenceStep).where(SequenceStep.sequence_id == sequence.id).order_by(SequenceStep.position)
            )
        )
        if not steps:
            raise InvalidInput("This sequence has no steps yet.")
        workspace = session.get(Workspace, actor.workspace_id)
        ws = dict(workspace.settings) if workspace else {}
        leads = {
            lead.id: lead
            for lead in session.scalars(
                select(Lead).where(Lead.workspace_id == actor.workspace_id, Lead.id.in_(lead_ids))
            )
        }
        wanted = (Enrollment.workspace_id == actor.workspace_id, Enrollment.lead_id.in_(lead_ids))
        in_this = set(session.scalars(select(Enrollment.lead_id).where(*wanted, Enrollment.sequence_id == sequence.id)))
        in_another = set(session.scalars(select(Enrollment.lead_id).where(*wanted, Enrollment.status.in_(OPEN))))
        for lead_id in sorted(set(lead_ids)):
            lead = leads.get(lead_id)
            if lead is None:
                reason = "not in this workspace"
            elif lead.deleted_at is not None:
                reason = "in the trash"
            elif lead_id in in_this:
                reason = "already in this sequence"
            elif lead_id in in_another:
                reason = "already in another sequence"
            else:
                reason = _skip_reason(session, lead=lead, sequence=sequence, steps=steps, ws=ws)
            if reason:
                skipped.append((lead_id, reason))
                continue
            enrolled.append(lead_id)
            if not dry_run:
                session.add(
                    Enrollment(
                        workspace_id=actor.workspace_id,
                        sequence_id=sequence.id,
                        lead_id=lead_id,
                        status="active",
                        next_position=1,
                        next_due_at=add_working_days(now, steps[0].delay_days, ws),
                        enrolled_by=actor.user_id,
                    )
                )
        if dry_run:
            return EnrolOutcome(enrolled=tuple(enrolled), skipped=tuple(skipped))
        audit(
            uow,
            "sequence.enrolled",
            actor=actor,
            target_type="sequence",
            target_id=sequence.id,
            detail={"enrolled": len(enrolled), "skipped": len(skipped)},
        )
        uow.commit()
    return EnrolOutcome(enrolled=tuple(enrolled), skipped=tuple(skipped))


def _enrollment_or_raise(uow: UnitOfWork, actor: Actor, enrollment_id: int) -> Enrollment:
    row = uow.session.get(Enrollment, enrollment_id)
    if row is None or row.workspace_id != actor.workspace_id:
        raise NotFound("That enrolment does not exist in this workspace.")
    return row


def set_enrollment_status(*, actor: Actor, enrollment_id: int, status: str, uow: UnitOfWork | None = None) -> None:
    """Pause one contact's sequence (its queued step waits too) or resume it."""
    actor.require_permission("sequence.enrol")
    if status not in ("active", "paused"):
        raise InvalidInput("A contact's sequence is paused or resumed (active).")
    uow = uow or UnitOfWork()
    with uow:
        row = _enrollment_or_raise(uow, actor, enrollment_id)
        if row.status not in OPEN:
            raise InvalidInput(
                f"This contact's sequence has ended ({row.status}); enrol the lead again in another one."
            )
        row.status = status
        audit(
            uow,
            f"enrollment.{'resumed' if status == 'active' else 'paused'}",
            actor=actor,
            target_type="enrollment",
            target_id=row.id,
        )
        uow.commit()


def remove_from_sequence(*, actor: Actor, enrollment_id: int, uow: UnitOfWork | None = None) -> None:
    """Take a contact out of its sequence by hand; a step not yet claimed by a sender is cancelled."""
    actor.require_permission("sequence.enrol")
    uow = uow or UnitOfWork()
    with uow:
        row = _enrollment_or_raise(uow, actor, enrollment_id)
        if row.status not in OPEN:
            raise InvalidInput(f"This contact's sequence has already ended ({row.status}).")
        leave_sequences(
            uow.session, lead_ids=(), enrollment_ids=[row.id], reason="manual", detail=f"taken out by {actor.email}"
        )
        audit(uow, "enrollment.removed", actor=actor, target_type="enrollment", target_id=row.id)
        uow.commit()


def list_enrollments(
    *, actor: Actor, sequence_id: int, status: str | None = None, uow: UnitOfWork | None = None
) -> list[EnrollmentView]:
    """The sequence's contacts (newest first) with their state, next step and why they left."""
    actor.require_permission("sequence.view")
    uow = uow or UnitOfWork()
    with uow:
        sequence_or_raise(uow, actor.workspace_id, sequence_id)
        query = (
            select(Enrollment, Lead.name, Lead.domain)
            .join(Lead, Lead.id == Enrollment.lead_id)
            .where(Enrollment.sequence_id == sequence_id)
        )
        if status:
            query = query.where(Enrollment.status == status)
        rows = uow.session.execute(query.order_by(Enrollment.id.desc()).limit(MAX_SHOWN)).all()
        return [
            EnrollmentView(
                id=e.id,
                lead_id=e.lead_id,
                lead_name=name or domain,
                status=e.status,
                reason=e.reason,
                detail=e.detail,
                next_position=e.next_position,
                next_due_at=e.next_due_at,
                enrolled_at=e.created_at,
            )
            for e, name, domain in rows
        ]
