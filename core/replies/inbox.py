"""The Inbox: replies by lead with their thread, the class (changeable) and one-click actions."""

from __future__ import annotations

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import aliased

from core.actor import Actor
from core.audit import audit
from core.background import service as background
from core.background.kinds import POLL_REPLIES
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Lead, Message, Reply, utcnow
from core.errors import InvalidInput, NotFound
from core.outreach.sequence_stops import leave_for_status
from core.replies.models import HUMAN_LABELS, LABEL_TITLES, REPLY_LABELS, ReplyView, Verdict
from core.replies.service import apply_effects

# what each action does to the lead; every action also marks the reply handled
ACTIONS = {"meeting": "meeting", "not_interested": "lost", "do_not_contact": "do_not_contact", "handled": ""}
ACTION_TITLES = {
    "meeting": "Mark meeting",
    "not_interested": "Not interested",
    "do_not_contact": "Do not contact",
    "handled": "Done",
}


_Answer = aliased(Message)


def _replies(actor: Actor) -> Select[Reply, str, str, str, str, str]:
    return (
        select(Reply, Lead.name, Lead.domain, Message.subject, _Answer.status, _Answer.error)
        .outerjoin(Lead, Lead.id == Reply.lead_id)
        .outerjoin(Message, Message.id == Reply.message_id)
        .outerjoin(_Answer, _Answer.id == Reply.answer_message_id)
        .where(Reply.workspace_id == actor.workspace_id)
    )


def _view(
    reply: Reply,
    name: str | None,
    domain: str | None,
    message_subject: str | None,
    answer_status: str | None = None,
    answer_error: str | None = None,
) -> ReplyView:
    return ReplyView(
        id=reply.id,
        lead_id=reply.lead_id,
        lead_name=name or domain or "",
        message_id=reply.message_id,
        message_subject=message_subject or "",
        channel=reply.channel,
        source=reply.source,
        from_address=reply.from_address,
        from_name=reply.from_name,
        subject=reply.subject,
        body=reply.body,
        full_body=reply.full_body,
        label=reply.label,
        label_source=reply.label_source,
        label_reason=reply.label_reason,
        bounce_recipient=reply.bounce_recipient,
        bounce_status=reply.bounce_status,
        matched_by=reply.matched_by,
        received_at=reply.received_at,
        handled_at=reply.handled_at,
        answer_message_id=reply.answer_message_id,
        answer_status=answer_status or "",
        answer_error=answer_error or "",
    )


def list_replies(
    *,
    actor: Actor,
    labels: tuple[str, ...] = (),
    lead_id: int | None = None,
    open_only: bool = False,
    limit: int = 200,
    uow: UnitOfWork | None = None,
) -> list[ReplyView]:
    """The workspace's replies, newest first, filtered by class, lead and whether they are handled."""
    actor.require_permission("reply.view")
    query = _replies(actor)
    if labels:
        unknown = set(labels) - set(REPLY_LABELS)
        if unknown:
            raise InvalidInput(f"Unknown reply class {sorted(unknown)[0]!r}; use one of {', '.join(REPLY_LABELS)}.")
        query = query.where(Reply.label.in_(labels))
    if lead_id is not None:
        query = query.where(Reply.lead_id == lead_id)
    if open_only:
        query = query.where(Reply.handled_at.is_(None))
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.execute(query.order_by(Reply.received_at.desc(), Reply.id.desc()).limit(limit)).all()
        return [_view(*row) for row in rows]


def count_open(*, actor: Actor, uow: UnitOfWork | None = None) -> dict[str, int]:
    """Unhandled replies per class, for the page's tabs and the navigation."""
    actor.require_permission("reply.view")
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.execute(
            select(Reply.label, func.count())
            .where(Reply.workspace_id == actor.workspace_id, Reply.handled_at.is_(None))
            .group_by(Reply.label)
        ).all()
        return {label: count for label, count in rows}


def _owned(uow: UnitOfWork, actor: Actor, reply_id: int) -> Reply:
    reply = uow.session.get(Reply, reply_id)
    if reply is None or reply.workspace_id != actor.workspace_id:
        raise NotFound(f"Reply {reply_id} does not exist in this workspace (it may have been removed).")
    return reply


def get_reply_or_raise(*, actor: Actor, reply_id: int, uow: UnitOfWork | None = None) -> ReplyView:
    """One reply of the workspace."""
    actor.require_permission("reply.view")
    uow = uow or UnitOfWork()
    with uow:
        row = uow.session.execute(_replies(actor).where(Reply.id == reply_id)).first()
        if row is None:
            raise NotFound(f"Reply {reply_id} does not exist in this workspace (it may have been removed).")
        return _view(*row)


def set_reply_label(*, actor: Actor, reply_id: int, label: str, uow: UnitOfWork | None = None) -> ReplyView:
    """Correct a reply's class; the new class's effects apply (an unsubscribe request suppresses)."""
    actor.require_permission("reply.act")
    if label not in REPLY_LABELS:
        raise InvalidInput(f"Unknown reply class {label!r}; use one of {', '.join(REPLY_LABELS)}.")
    uow = uow or UnitOfWork()
    with uow:
        reply = _owned(uow, actor, reply_id)
        before = reply.label
        if label != before:
            reply.label, reply.label_source = label, "user"
            reply.label_reason = f"set by a user (was {LABEL_TITLES[before].lower()})"
            if label in HUMAN_LABELS or label == "unsubscribe":
                apply_effects(uow.session, reply, Verdict(label=label, reason=reply.label_reason))
            audit(
                uow,
                "reply.relabelled",
                actor=actor,
                target_type="reply",
                target_id=reply.id,
                detail={"from": before, "to": label},
            )
            uow.commit()
    return get_reply_or_raise(actor=actor, reply_id=reply_id)


def act_on_reply(*, actor: Actor, reply_id: int, action: str, uow: UnitOfWork | None = None) -> ReplyView:
    """One-click action from the Inbox: move the lead (meeting, lost, do not contact) and mark it handled."""
    actor.require_permission("reply.act")
    if action not in ACTIONS:
        raise InvalidInput(f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.")
    uow = uow or UnitOfWork()
    with uow:
        reply = _owned(uow, actor, reply_id)
        status = ACTIONS[action]
        if status and reply.lead_id is None:
            raise InvalidInput(
                "This reply is not matched to a lead, so there is no lead to update; mark it done instead."
            )
        if action == "do_not_contact":
            apply_effects(uow.session, reply, Verdict(label="unsubscribe", reason="marked do not contact"))
        if status:
            uow.session.execute(
                update(Lead)
                .where(Lead.id == reply.lead_id, Lead.workspace_id == actor.workspace_id)
                .values(status=status)
                .execution_options(synchronize_session=False)
            )
            leave_for_status(uow.session, lead_ids=[reply.lead_id] if reply.lead_id else [], status=status)
        reply.handled_at = reply.handled_at or utcnow()
        audit(
            uow,
            "reply.actioned",
            actor=actor,
            target_type="reply",
            target_id=reply.id,
            detail={"action": action, "lead_id": reply.lead_id},
        )
        uow.commit()
    return get_reply_or_raise(actor=actor, reply_id=reply_id)


def unassigned_count(*, uow: UnitOfWork | None = None) -> int:
    """Mail that matched no workspace (kept for the operator, never shown to a team)."""
    uow = uow or UnitOfWork()
    with uow:
        return int(uow.session.scalar(select(func.count()).select_from(Reply).where(Reply.workspace_id.is_(None))) or 0)


def read_mailbox_now(*, actor: Actor) -> int:
    """Read the mailbox in the background now instead of at the next two-minute poll; the job's id."""
    actor.require_permission("reply.act")
    if not get_settings().imap_enabled:
        raise InvalidInput(
            "No mailbox is set up to read replies from. Set IMAP_HOST (and IMAP_USER/IMAP_PASSWORD when they "
            "differ from SMTP_USER/SMTP_PASSWORD) and restart; see README, Replies."
        )
    return background.submit(kind=POLL_REPLIES, actor=actor)
