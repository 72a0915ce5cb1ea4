"""The sequence scheduler: each due step, in one transaction, re-checks why the contact might leave, then
becomes a message of the ordinary outbox (so the claim's suppression, consent, window, cap and
exactly-once guard all apply to it).

A step's delay counts working days from when the previous step went out, so the next step is only
scheduled once the previous message was accepted by its provider; a previous step that failed ends
the enrolment. Follow-up emails carry ``In-Reply-To``/``References`` of the earlier emails and
"Re: <first subject>" unless the step has a subject of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import (
    Contact,
    Enrollment,
    Lead,
    Message,
    MessageEvent,
    Reply,
    Sequence,
    SequenceStep,
    Suppression,
    Template,
    Workspace,
    utcnow,
)
from core.errors import InvalidInput
from core.outreach import templates
from core.outreach.compose import message_id_header, refuse_unsendable_contact
from core.outreach.context import lead_values, pick_contact
from core.outreach.sequence_stops import leave_sequences
from core.outreach.service import queue_approved
from core.sequences.calendar import add_working_days
from core.sequences.models import AdvanceSummary

ON_ITS_WAY = ("draft", "approved", "queued", "sending", "unknown")  # the previous step has not settled yet
BATCH = 500
_RE = re.compile(r"^\s*(re|aw|sv)\s*:\s*", re.IGNORECASE)


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


def any_step_due(*, now: datetime | None = None, uow: UnitOfWork | None = None) -> bool:
    """True when some enrolment has a step to queue or a sent step to schedule the next one after."""
    uow = uow or UnitOfWork()
    with uow:
        return bool(uow.session.scalar(select(exists(_due(now or utcnow())))))


@dataclass(frozen=True)
class _Step:
    outcome: str  # queued, left, finished, scheduled, skipped
    message_id: int | None = None


def advance_due(
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
    limit: int = BATCH,
) -> AdvanceSummary:
    """Queue every due step (one transaction per enrolment), then run the outbox's queueing checks on them."""
    now = now or utcnow()
    settings = settings or get_settings()
    with uow_factory() as uow:
        ids = list(uow.session.scalars(_due(now).order_by(Enrollment.id).limit(limit)))
    counts = {"queued": 0, "left": 0, "finished": 0, "scheduled": 0, "skipped": 0}
    made: list[int] = []
    for enrollment_id in ids:
        step = _advance_one(uow_factory(), enrollment_id, now, settings)
        counts[step.outcome] += 1
        if step.message_id is not None:
            made.append(step.message_id)
    if made:
        # The address check (DNS) runs outside the step's transaction; a reply meanwhile cancels the step.
        queue_approved(
            workspace_id=None, by="the sequence scheduler", message_ids=made, include_risky=True, uow=uow_factory()
        )
    return AdvanceSummary(
        queued=counts["queued"], left=counts["left"], finished=counts["finished"], scheduled=counts["scheduled"]
    )


def _lock(session: Session, enrollment_id: int) -> Enrollment | None:
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    return session.scalar(
        select(Enrollment)
        .where(Enrollment.id == enrollment_id, Enrollment.status == "active")
        .with_for_update(skip_locked=True)
    )


def _advance_one(uow: UnitOfWork, enrollment_id: int, now: datetime, settings: Settings) -> _Step:
    with uow:
        session = uow.session
        enrollment = _lock(session, enrollment_id)
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


def _leaving_reason(session: Session, enrollment: Enrollment, sequence: Sequence, lead: Lead | None) -> tuple[str, str]:
    """Why the contact leaves now (reason, detail), or ("", "")."""
    if lead is None or lead.deleted_at is not None:
        return "status", "the lead was deleted"
    if lead.status == "do_not_contact" or lead.status in sequence.stop_statuses:
        return "status", f"the lead's status is {lead.status}"
    reply = session.execute(
        select(Reply.label, Reply.from_address)
        .where(
            Reply.workspace_id == enrollment.workspace_id,
            Reply.lead_id == lead.id,
            Reply.received_at >= enrollment.created_at,
            Reply.label != "auto_reply",
            or_(Reply.label != "bounce", ~Reply.bounce_status.startswith("4")),
        )
        .order_by(Reply.id)
        .limit(1)
    ).first()
    if reply is not None:
        reason = {"bounce": "bounced", "unsubscribe": "unsubscribed"}.get(reply.label, "replied")
        return reason, f"{reply.label.replace('_', ' ')} from {reply.from_address}"[:500]
    settled = session.scalar(
        select(Message.status)
        .where(Message.enrollment_id == enrollment.id, Message.status.in_(("replied", "bounced")))
        .limit(1)
    )
    if settled:
        return settled, f"a step was {settled}"
    suppressed = session.execute(
        select(Suppression.reason, Suppression.address)
        .join(
            Contact,
            and_(
                Contact.normalised_value == Suppression.address,
                or_(
                    and_(Suppression.channel == "email", Contact.kind == "email"),
                    and_(Suppression.channel == "sms", Contact.kind == "phone"),
                ),
            ),
        )
        .where(Contact.lead_id == lead.id, Suppression.workspace_id == enrollment.workspace_id)
        .limit(1)
    ).first()
    if suppressed is not None:
        reason = {"stop": "stop", "bounced": "bounced"}.get(suppressed.reason, "unsubscribed")
        return reason, f"{suppressed.address} is suppressed ({suppressed.reason})"
    return "", ""


def _thread_id(message: Message, ws: dict[str, Any], settings: Settings) -> str:
    """The Message-ID the earlier email went out with (SMTP records it; otherwise ours, as composed)."""
    if (message.provider_message_id or "").startswith("<leadscout."):
        return message.provider_message_id or ""
    return message_id_header(
        workspace_id=message.workspace_id, message_id=message.id, workspace_settings=ws, settings=settings
    )


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
    reason, detail = _leaving_reason(session, enrollment, sequence, lead)
    if reason:
        return _leave(session, enrollment, reason, detail)
    assert lead is not None
    step = steps.get(enrollment.next_position or 0)
    if step is None:
        enrollment.status, enrollment.next_position, enrollment.ended_at = "finished", None, now
        return _Step("finished")
    made = _step_message(session, enrollment, step, lead, ws, settings)
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
    following = [p for p in steps if p > step.position]
    enrollment.last_message_id = made.id
    enrollment.next_position = min(following) if following else None
    enrollment.next_due_at = None
    return _Step("queued", made.id)


def _subject(session: Session, enrollment: Enrollment, step: SequenceStep, first: str, values: dict[str, str]) -> str:
    if step.subject:
        return templates.render(subject=step.subject, body="-", values=values).subject
    if not first:
        return ""
    return ("Re: " + _RE.sub("", first))[:500]


def _step_message(
    session: Session,
    enrollment: Enrollment,
    step: SequenceStep,
    lead: Lead,
    ws: dict[str, Any],
    settings: Settings,
) -> Message | str:
    """The step's message (approved, not yet queued), or why it cannot be made."""
    contact = pick_contact(session, lead=lead, channel=step.channel)
    if contact is None:
        return "no email address" if step.channel == "email" else "no phone number"
    template = session.get(Template, step.template_id) if step.template_id is not None else None
    if step.use_ai or template is None:
        return "the step has no template (it was deleted)" if not step.use_ai else "AI draft steps are not built yet"
    try:
        refuse_unsendable_contact(contact, channel=step.channel)
        values = lead_values(session, lead=lead, contact=contact)
        missing = templates.missing_fields(subject=template.subject, body=template.body, values=values)
        if missing:
            return "missing " + ", ".join(missing)
        rendered = templates.render(subject=template.subject, body=template.body, values=values)
        earlier = list(
            session.scalars(
                select(Message)
                .where(Message.enrollment_id == enrollment.id, Message.channel == "email", Message.sent_at.is_not(None))
                .order_by(Message.step, Message.id)
            )
        )
        subject, in_reply_to, references = rendered.subject, "", ""
        if step.channel == "email" and earlier:
            subject = _subject(session, enrollment, step, earlier[0].subject, values) or rendered.subject
            ids = [_thread_id(m, ws, settings) for m in earlier]
            in_reply_to, references = ids[-1], " ".join(ids)
        elif step.channel == "email" and step.subject:
            subject = _subject(session, enrollment, step, "", values)
    except InvalidInput as error:
        return str(error)
    message = Message(
        workspace_id=enrollment.workspace_id,
        lead_id=lead.id,
        contact_id=contact.id,
        channel=step.channel,
        step=step.position,
        template_id=template.id,
        subject=subject if step.channel == "email" else "",
        body=rendered.body,
        status="approved",
        approved_at=utcnow(),
        enrollment_id=enrollment.id,
        in_reply_to=in_reply_to,
        thread_references=references,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return f"the lead already has a step {step.position} {step.channel} message from other outreach"
    return message
