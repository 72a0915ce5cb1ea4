"""A due step as an outbox message: rendered from its template, or an AI draft adopted, in the thread of
the enrolment's earlier emails (``In-Reply-To``/``References``, "Re: <first subject>" unless the step
has a subject of its own)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.config import Settings
from core.db.models import Contact, Enrollment, Lead, Message, SequenceStep, Template, utcnow
from core.errors import InvalidInput
from core.outreach import templates
from core.outreach.compose import refuse_unsendable_contact, sent_message_id
from core.outreach.context import lead_values, pick_contact

_RE = re.compile(r"^\s*(re|aw|sv)\s*:\s*", re.IGNORECASE)


def _threading(
    session: Session,
    enrollment: Enrollment,
    step: SequenceStep,
    values: dict[str, str],
    subject: str,
    ws: dict[str, Any],
    settings: Settings,
) -> tuple[str, str, str]:
    """(subject, In-Reply-To, References) of an email step; ``subject`` is the template's or the draft's."""
    if step.channel != "email":
        return "", "", ""
    own = templates.render(subject=step.subject, body="-", values=values).subject if step.subject else ""
    earlier = list(
        session.scalars(
            select(Message)
            .where(Message.enrollment_id == enrollment.id, Message.channel == "email", Message.sent_at.is_not(None))
            .order_by(Message.step, Message.id)
        )
    )
    if not earlier:
        return own or subject, "", ""
    ids = [sent_message_id(m, ws, settings) for m in earlier]
    return own or ("Re: " + _RE.sub("", earlier[0].subject))[:500], ids[-1], " ".join(ids)


def template_message(
    session: Session, enrollment: Enrollment, step: SequenceStep, lead: Lead, ws: dict[str, Any], settings: Settings
) -> Message | str:
    """The step's message from its template (approved, not yet queued), or why it cannot be made."""
    contact = pick_contact(session, lead=lead, channel=step.channel)
    if contact is None:
        return "no email address" if step.channel == "email" else "no phone number"
    template = session.get(Template, step.template_id) if step.template_id is not None else None
    if template is None:
        return "the step has no template (it was deleted)"
    try:
        refuse_unsendable_contact(contact, channel=step.channel)
        values = lead_values(session, lead=lead, contact=contact)
        missing = templates.missing_fields(subject=template.subject, body=template.body, values=values)
        if missing:
            return "missing " + ", ".join(missing)
        rendered = templates.render(subject=template.subject, body=template.body, values=values)
        subject, in_reply_to, references = _threading(session, enrollment, step, values, rendered.subject, ws, settings)
    except InvalidInput as error:
        return str(error)
    message = Message(
        workspace_id=enrollment.workspace_id,
        lead_id=lead.id,
        contact_id=contact.id,
        channel=step.channel,
        step=step.position,
        template_id=template.id,
        subject=subject,
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


def adopt_draft(
    session: Session,
    enrollment: Enrollment,
    step: SequenceStep,
    message: Message,
    lead: Lead,
    ws: dict[str, Any],
    settings: Settings,
) -> str:
    """Make an AI draft this step's message, in the thread; approved unless the evidence check flagged a claim.

    Returns "" or why it cannot be used."""
    contact = session.get(Contact, message.contact_id)
    if contact is None:
        return "the draft's contact was deleted"
    try:
        values = lead_values(session, lead=lead, contact=contact)
        subject, in_reply_to, references = _threading(session, enrollment, step, values, message.subject, ws, settings)
    except InvalidInput as error:
        return str(error)
    message.enrollment_id, message.in_reply_to, message.thread_references = enrollment.id, in_reply_to, references
    message.subject = subject
    if not any(flag.get("blocking", True) for flag in message.flags):
        message.status, message.approved_at = "approved", utcnow()
    return ""


def step_taken(enrollment: Enrollment, message_id: int, position: int, positions: list[int]) -> None:
    """The enrolment moves past this step: its message is the one to wait for, the next step is due after it."""
    following = [p for p in positions if p > position]
    enrollment.last_message_id = message_id
    enrollment.next_position = min(following) if following else None
    enrollment.next_due_at = None
    enrollment.detail = ""
