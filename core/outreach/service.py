"""Templates, drafts, approval and one-click send: the outreach services the page calls.

The workspace's outreach settings are in ``sending_settings``; LLM drafts in ``drafts``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError

from core import background
from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import Lead, Message, MessageEvent, Template, utcnow
from core.errors import InvalidInput, NotFound
from core.outreach import templates
from core.outreach.address_checks import refresh_message_checks
from core.outreach.compose import refuse_unsendable_contact
from core.outreach.context import lead_values, pick_contact
from core.outreach.models import CHANNELS, PreviewRow, TemplateView
from core.outreach.suppression import is_suppressed


@dataclass(frozen=True)
class DraftOutcome:
    """What drafting a selection did: new message ids, and the leads skipped with why."""

    created: tuple[int, ...]
    skipped: tuple[tuple[int, str], ...]


def _template_view(t: Template) -> TemplateView:
    return TemplateView(id=t.id, name=t.name, channel=t.channel, subject=t.subject, body=t.body)


def save_template(
    *,
    actor: Actor,
    name: str,
    channel: str,
    subject: str,
    body: str,
    template_id: int | None = None,
    uow: UnitOfWork | None = None,
) -> int:
    """Create or update a template after checking it parses; returns its id."""
    actor.require_permission("outreach.draft")
    name = templates.refuse_line_breaks("template name", name.strip())
    if not name or not body.strip():
        raise InvalidInput("A template needs a name and a body.")
    if channel not in CHANNELS:
        raise InvalidInput("Channel must be email or sms.")
    if channel == "email" and not subject.strip():
        raise InvalidInput("An email template needs a subject.")
    templates.check_template(subject=subject if channel == "email" else "", body=body)
    uow = uow or UnitOfWork()
    with uow:
        if template_id is None:
            row = Template(workspace_id=actor.workspace_id, created_by=actor.user_id)
            uow.session.add(row)
        else:
            row = _template_or_raise(uow, actor, template_id)
        row.name, row.channel, row.subject, row.body = (
            name,
            channel,
            subject.strip() if channel == "email" else "",
            body,
        )
        try:
            uow.flush()
        except IntegrityError as exc:
            raise InvalidInput(f"A template named '{name}' already exists.") from exc
        uow.commit()
        return row.id


def _template_or_raise(uow: UnitOfWork, actor: Actor, template_id: int) -> Template:
    row = uow.session.get(Template, template_id)
    if row is None or row.workspace_id != actor.workspace_id:
        raise NotFound("That template does not exist in this workspace.")
    return row


def list_templates(*, actor: Actor, uow: UnitOfWork | None = None) -> list[TemplateView]:
    """The workspace's templates by name."""
    actor.require_permission("outreach.view")
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.scalars(
            select(Template).where(Template.workspace_id == actor.workspace_id).order_by(Template.name)
        )
        return [_template_view(t) for t in rows]


def _lead_rows(uow: UnitOfWork, actor: Actor, lead_ids: list[int]) -> list[Lead]:
    return list(
        uow.session.scalars(
            select(Lead)
            .where(Lead.workspace_id == actor.workspace_id, Lead.deleted_at.is_(None), Lead.id.in_(lead_ids))
            .order_by(Lead.id)
        )
    )


def preview(*, actor: Actor, template_id: int, lead_ids: list[int], uow: UnitOfWork | None = None) -> list[PreviewRow]:
    """Per lead: the missing fields, or the rendered message (and SMS segments)."""
    actor.require_permission("outreach.draft")
    uow = uow or UnitOfWork()
    rows: list[PreviewRow] = []
    with uow:
        template = _template_or_raise(uow, actor, template_id)
        for lead in _lead_rows(uow, actor, lead_ids):
            contact = pick_contact(uow.session, lead=lead, channel=template.channel)
            values = lead_values(uow.session, lead=lead, contact=contact)
            base = PreviewRow(
                lead_id=lead.id,
                lead_name=lead.name or lead.domain,
                contact=contact.value if contact else "",
                missing=(),
            )
            missing = templates.missing_fields(subject=template.subject, body=template.body, values=values)
            if missing:
                rows.append(replace(base, missing=missing))
                continue
            try:
                out = templates.render(subject=template.subject, body=template.body, values=values)
            except InvalidInput as error:
                rows.append(replace(base, error=str(error)))
                continue
            segments = templates.sms_segments(out.body) if template.channel == "sms" else None
            rows.append(replace(base, subject=out.subject, body=out.body, segments=segments))
    return rows


def create_drafts(
    *, actor: Actor, template_id: int, lead_ids: list[int], step: int = 1, uow: UnitOfWork | None = None
) -> DraftOutcome:
    """One draft per lead from a template; skips (with a reason) leads that cannot get one."""
    actor.require_permission("outreach.draft")
    uow = uow or UnitOfWork()
    created: list[int] = []
    skipped: list[tuple[int, str]] = []
    with uow:
        session = uow.session
        template = _template_or_raise(uow, actor, template_id)
        found = _lead_rows(uow, actor, lead_ids)
        skipped.extend(
            (lead_id, "not in this workspace") for lead_id in sorted(set(lead_ids) - {lead.id for lead in found})
        )
        for lead in found:
            contact = pick_contact(session, lead=lead, channel=template.channel)
            if lead.status == "do_not_contact":
                skipped.append((lead.id, "marked do-not-contact"))
                continue
            if contact is None:
                skipped.append((lead.id, f"no {'email address' if template.channel == 'email' else 'phone number'}"))
                continue
            reason = is_suppressed(
                session,
                workspace_id=actor.workspace_id,
                channel=template.channel,
                address=contact.normalised_value or contact.value,
            )
            if reason:
                skipped.append((lead.id, f"{contact.value} is suppressed ({reason})"))
                continue
            try:
                refuse_unsendable_contact(contact, channel=template.channel)
            except InvalidInput as error:
                skipped.append((lead.id, f"{contact.value}: {error}"))
                continue
            values = lead_values(session, lead=lead, contact=contact)
            missing = templates.missing_fields(subject=template.subject, body=template.body, values=values)
            if missing:
                skipped.append((lead.id, "missing " + ", ".join(missing)))
                continue
            try:
                out = templates.render(subject=template.subject, body=template.body, values=values)
            except InvalidInput as error:
                skipped.append((lead.id, str(error)))
                continue
            try:
                with session.begin_nested():
                    message = Message(
                        workspace_id=actor.workspace_id,
                        lead_id=lead.id,
                        contact_id=contact.id,
                        channel=template.channel,
                        step=step,
                        template_id=template.id,
                        subject=out.subject,
                        body=out.body,
                        status="draft",
                    )
                    session.add(message)
                created.append(message.id)
            except IntegrityError:
                skipped.append((lead.id, f"already has a step {step} {template.channel} message"))
        uow.commit()
    return DraftOutcome(created=tuple(created), skipped=tuple(skipped))


MAX_SUBJECT = 200
MAX_BODY = 20_000


def _words(text: str) -> str:
    return " ".join(text.split()).lower()


def edit_draft(
    *, actor: Actor, message_id: int, subject: str, body: str, uow: UnitOfWork | None = None
) -> tuple[str, ...]:
    """Change a draft's text and re-run the evidence check; returns the sentences still flagged.

    A flagged sentence that is still in the text (however it is wrapped or cased) stays flagged; one
    edited away or rewritten clears its flag, so a fixed draft can be approved. An approved message
    goes back to draft."""
    actor.require_permission("outreach.draft")
    subject, body = templates.refuse_line_breaks("subject", subject.strip()), body.strip()
    if not body:
        raise InvalidInput("The message body is empty; write the message or delete the draft.")
    if len(subject) > MAX_SUBJECT or len(body) > MAX_BODY:
        raise InvalidInput(f"Keep the subject under {MAX_SUBJECT} and the body under {MAX_BODY:,} characters.")
    uow = uow or UnitOfWork()
    with uow:
        message = _message_or_raise(uow, actor, message_id)
        if message.status not in ("draft", "approved"):
            raise InvalidInput("Only drafts can be edited; this message is already on its way.")
        if message.channel == "email" and not subject:
            raise InvalidInput("An email needs a subject.")
        text = _words(body)
        kept = [flag for flag in message.flags if _words(str(flag.get("sentence", ""))) in text]
        message.subject = subject if message.channel == "email" else ""
        message.body, message.status, message.flags = body, "draft", kept
        message.approved_by, message.approved_at = None, None
        left = tuple(str(flag.get("sentence", "")) for flag in kept if flag.get("blocking", True))
        uow.session.add(
            MessageEvent(
                workspace_id=actor.workspace_id,
                message_id=message.id,
                status="draft",
                detail=f"edited by {actor.email}"
                + (f"; {len(left)} claim(s) still without evidence" if left else "; evidence check passed"),
            )
        )
        uow.commit()
        return left


def _message_or_raise(uow: UnitOfWork, actor: Actor, message_id: int) -> Message:
    message = uow.session.get(Message, message_id)
    if message is None or message.workspace_id != actor.workspace_id:
        raise NotFound("That message does not exist in this workspace.")
    return message


def approve(
    *, actor: Actor, message_ids: list[int], uow: UnitOfWork | None = None
) -> tuple[int, list[tuple[int, str]]]:
    """Approve drafts; a draft with an unresolved flag stays a draft. Returns (approved, refused)."""
    actor.require_permission("outreach.send")
    uow = uow or UnitOfWork()
    approved, refused = 0, []
    with uow:
        rows = uow.session.scalars(
            select(Message).where(
                Message.workspace_id == actor.workspace_id, Message.id.in_(message_ids), Message.status == "draft"
            )
        )
        for message in rows:
            if any(flag.get("blocking", True) for flag in message.flags):
                refused.append((message.id, "has claims without evidence; edit it first"))
                continue
            message.status, message.approved_by, message.approved_at = "approved", actor.user_id, utcnow()
            uow.session.add(
                MessageEvent(
                    workspace_id=actor.workspace_id,
                    message_id=message.id,
                    status="approved",
                    detail=f"approved by {actor.email}",
                )
            )
            approved += 1
        uow.commit()
    return approved, refused


def queue_for_sending(
    *, actor: Actor, message_ids: list[int] | None = None, include_risky: bool = False, uow: UnitOfWork | None = None
) -> int:
    """approved -> queued (all approved ones when ``message_ids`` is None); a repeat click queues nothing new.

    Email addresses are checked first (``address_checks``): invalid ones are refused, risky ones
    stay approved unless ``include_risky`` (the sender confirmed them)."""
    actor.require_permission("outreach.send")
    return queue_approved(
        workspace_id=actor.workspace_id, message_ids=message_ids, by=actor.email, include_risky=include_risky, uow=uow
    )


def _address_verdicts(
    workspace_id: int | None, message_ids: list[int] | None, include_risky: bool
) -> tuple[dict[int, str], set[int]]:
    """(message id -> refusal for invalid addresses, ids of risky ones held back) among the approved emails."""
    checks = refresh_message_checks(workspace_id=workspace_id, message_ids=message_ids, statuses=("approved",))
    invalid: dict[int, str] = {}
    risky: set[int] = set()
    for message_id, check in checks.items():
        if check.state == "invalid":
            why = "; ".join(check.reasons) or "no mail server"
            invalid[message_id] = f"Not sent: the address check found {check.address[:80]} invalid ({why[:300]})."
        elif check.state == "risky" and not include_risky:
            risky.add(message_id)
    return invalid, risky


def queue_approved(
    *,
    workspace_id: int | None,
    by: str,
    message_ids: list[int] | None = None,
    include_risky: bool = False,
    uow: UnitOfWork | None = None,
) -> int:
    """approved -> queued with a history row each, in one workspace (or all: the operator's command line).

    Emails to addresses checked invalid go to ``failed`` with the reason; risky ones stay approved
    unless ``include_risky``."""
    invalid, risky = _address_verdicts(workspace_id, message_ids, include_risky)
    uow = uow or UnitOfWork()
    with uow:
        if invalid:
            refused = uow.session.execute(
                update(Message)
                .where(Message.id.in_(sorted(invalid)), Message.status == "approved")
                .values(status="failed", error=case(invalid, value=Message.id, else_=""), updated_at=utcnow())
                .returning(Message.id, Message.workspace_id)
                .execution_options(synchronize_session=False)
            ).all()
            for message_id, message_workspace_id in refused:
                uow.session.add(
                    MessageEvent(
                        workspace_id=message_workspace_id,
                        message_id=message_id,
                        status="failed",
                        detail=invalid[message_id],
                    )
                )
        query = update(Message).where(Message.status == "approved")
        if workspace_id is not None:
            query = query.where(Message.workspace_id == workspace_id)
        if message_ids is not None:
            query = query.where(Message.id.in_(message_ids))
        if risky:
            query = query.where(Message.id.not_in(sorted(risky)))
        queued = uow.session.execute(
            query.values(status="queued")
            .returning(Message.id, Message.workspace_id)
            .execution_options(synchronize_session=False)
        ).all()
        for message_id, message_workspace_id in queued:
            uow.session.add(
                MessageEvent(
                    workspace_id=message_workspace_id,
                    message_id=message_id,
                    status="queued",
                    detail=f"queued by {by}",
                )
            )
        uow.commit()
        return len(queued)


def send_now(
    *, actor: Actor, message_ids: list[int] | None = None, include_risky: bool = False, uow: UnitOfWork | None = None
) -> int | None:
    """One-click send: queue the approved messages and start a send job; returns the job id (None if nothing)."""
    actor.require_permission("outreach.send")
    queued = queue_for_sending(actor=actor, message_ids=message_ids, include_risky=include_risky, uow=uow)
    if not queued:
        return None
    return background.submit(kind=background.kinds.SEND, args={"workspace_id": actor.workspace_id}, actor=actor)


def leads_for_outreach(
    *, actor: Actor, limit: int = 500, include: list[int] | None = None, uow: UnitOfWork | None = None
) -> list[tuple[int, str, str]]:
    """(lead id, name, status) of leads that may be contacted, best score first, plus ``include``d ones."""
    actor.require_permission("outreach.view")
    uow = uow or UnitOfWork()
    with uow:
        base = select(Lead.id, Lead.name, Lead.domain, Lead.status).where(
            Lead.workspace_id == actor.workspace_id, Lead.status != "do_not_contact", Lead.deleted_at.is_(None)
        )
        rows = list(uow.session.execute(base.order_by(Lead.score.desc().nulls_last(), Lead.id).limit(limit)).all())
        missing = set(include or []) - {row[0] for row in rows}
        if missing:
            rows += uow.session.execute(base.where(Lead.id.in_(missing)).order_by(Lead.id)).all()
        return [(lead_id, name or domain, status) for lead_id, name, domain, status in rows]
