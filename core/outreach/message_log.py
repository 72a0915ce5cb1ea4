"""The message log: list and filter messages, status history, manual marks, .eml export."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Select, func, select, update

from core.actor import Actor
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Contact, Lead, Message, MessageEvent, Workspace
from core.errors import InvalidInput, NotFound
from core.outreach.channels.base import build_email
from core.outreach.compose import outgoing_for
from core.outreach.models import MessageEventView, MessageHistory, MessageView
from core.webhooks import events as webhooks


def _messages(actor: Actor) -> Select[Message, str, str, str]:
    return (
        select(Message, Lead.name, Lead.domain, Contact.value)
        .join(Lead, Lead.id == Message.lead_id)
        .join(Contact, Contact.id == Message.contact_id)
        .where(Message.workspace_id == actor.workspace_id)
    )


def _message_view(m: Message, name: str, domain: str, contact: str) -> MessageView:
    return MessageView(
        id=m.id,
        lead_id=m.lead_id,
        lead_name=name or domain,
        contact=contact,
        channel=m.channel,
        step=m.step,
        status=m.status,
        provider=m.provider,
        provider_message_id=m.provider_message_id or "",
        subject=m.subject,
        body=m.body,
        error=m.error,
        flags=tuple(str(f.get("sentence") or f.get("reason") or f) for f in m.flags),
        evidence_ids=tuple(m.evidence_ids or ()),
        attempts=m.attempts,
        created_at=m.created_at,
        sent_at=m.sent_at,
    )


def list_messages(
    *,
    actor: Actor,
    status: str | None = None,
    channel: str | None = None,
    lead_id: int | None = None,
    search: str = "",
    limit: int = 500,
    uow: UnitOfWork | None = None,
) -> list[MessageView]:
    """Messages of the workspace, newest first, filtered by status, channel, lead or text."""
    actor.require_permission("outreach.view")
    uow = uow or UnitOfWork()
    with uow:
        query = _messages(actor)
        if status:
            query = query.where(Message.status == status)
        if channel:
            query = query.where(Message.channel == channel)
        if lead_id:
            query = query.where(Message.lead_id == lead_id)
        if search:
            term = f"%{search.strip()}%"
            query = query.where(
                Lead.name.ilike(term)
                | Lead.domain.ilike(term)
                | Contact.value.ilike(term)
                | Message.subject.ilike(term)
            )
        rows = uow.session.execute(query.order_by(Message.id.desc()).limit(limit)).all()
        return [_message_view(m, name, domain, contact) for m, name, domain, contact in rows]


def get_message_or_raise(*, actor: Actor, message_id: int, uow: UnitOfWork | None = None) -> MessageView:
    """One message of the actor's workspace; ``NotFound`` otherwise."""
    actor.require_permission("outreach.view")
    uow = uow or UnitOfWork()
    with uow:
        row = uow.session.execute(_messages(actor).where(Message.id == message_id)).first()
        if row is None:
            raise NotFound(f"Message {message_id} was not found in this workspace.")
        return _message_view(*row)


def message_history(*, actor: Actor, message_id: int, uow: UnitOfWork | None = None) -> list[MessageEventView]:
    """A message's status changes, oldest first."""
    actor.require_permission("outreach.view")
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.scalars(
            select(MessageEvent)
            .where(MessageEvent.workspace_id == actor.workspace_id, MessageEvent.message_id == message_id)
            .order_by(MessageEvent.id)
        )
        return [MessageEventView(status=e.status, detail=e.detail, created_at=e.created_at) for e in rows]


def leads_with_messages(
    *, actor: Actor, include: int | None = None, limit: int = 1000, uow: UnitOfWork | None = None
) -> list[tuple[int, str]]:
    """(id, name) of the workspace's leads with messages, latest first, plus ``include`` if it is one of its leads."""
    actor.require_permission("outreach.view")
    uow = uow or UnitOfWork()
    with uow:
        leads = select(Lead.id, Lead.name, Lead.domain).where(Lead.workspace_id == actor.workspace_id)
        rows = list(
            uow.session.execute(
                leads.join(Message, Message.lead_id == Lead.id)
                .where(Message.workspace_id == actor.workspace_id)
                .group_by(Lead.id, Lead.name, Lead.domain)
                .order_by(func.max(Message.id).desc())
                .limit(limit)
            ).all()
        )
        if include and include not in {row[0] for row in rows}:
            rows += uow.session.execute(leads.where(Lead.id == include)).all()
        return [(lead_id, name or domain) for lead_id, name, domain in rows]


def lead_history(*, actor: Actor, lead_id: int, uow: UnitOfWork | None = None) -> list[MessageHistory]:
    """Every message to one of the workspace's leads (all channels and steps), each with its status changes, oldest first."""
    actor.require_permission("outreach.view")
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.execute(_messages(actor).where(Message.lead_id == lead_id).order_by(Message.id)).all()
        events: dict[int, list[MessageEventView]] = {}
        for e in uow.session.scalars(
            select(MessageEvent)
            .join(Message, Message.id == MessageEvent.message_id)
            .where(
                MessageEvent.workspace_id == actor.workspace_id,
                Message.workspace_id == actor.workspace_id,
                Message.lead_id == lead_id,
            )
            .order_by(MessageEvent.created_at, MessageEvent.id)
        ):
            events.setdefault(e.message_id, []).append(
                MessageEventView(status=e.status, detail=e.detail, created_at=e.created_at)
            )
        return [
            MessageHistory(message=_message_view(m, name, domain, contact), events=tuple(events.get(m.id, ())))
            for m, name, domain, contact in rows
        ]


def _set_status(
    actor: Actor, message_id: int, *, allowed_from: tuple[str, ...], status: str, detail: str, uow: UnitOfWork | None
) -> None:
    uow = uow or UnitOfWork()
    with uow:
        moved = cast(
            CursorResult[Any],
            uow.session.execute(
                update(Message)
                .where(
                    Message.id == message_id,
                    Message.workspace_id == actor.workspace_id,
                    Message.status.in_(allowed_from),
                )
                .values(status=status)
                .execution_options(synchronize_session=False)
            ),
        )
        if moved.rowcount != 1:
            raise InvalidInput(f"Only a message that is {' or '.join(allowed_from)} can be marked {status}.")
        uow.session.add(
            MessageEvent(
                workspace_id=actor.workspace_id,
                message_id=message_id,
                status=status,
                detail=f"{detail} by {actor.email}",
            )
        )
        if status == "replied":
            lead_id, channel = uow.session.execute(
                select(Message.lead_id, Message.channel).where(Message.id == message_id)
            ).one()
            reply = {"id": message_id, "lead_id": lead_id, "channel": channel, "status": "replied"}
            webhooks.emit(uow, workspace_id=actor.workspace_id, event="message.replied", data=reply)
            uow.session.execute(
                update(Lead)
                .where(Lead.id == lead_id, Lead.status.in_(("new", "qualified", "contacted")))
                .values(status="replied")
                .execution_options(synchronize_session=False)
            )
        uow.commit()


def mark_replied(*, actor: Actor, message_id: int, uow: UnitOfWork | None = None) -> None:
    """Record by hand that the prospect replied; the lead becomes ``replied``."""
    actor.require_permission("outreach.log")
    _set_status(
        actor,
        message_id,
        allowed_from=("sent", "delivered", "opened", "unknown"),
        status="replied",
        detail="marked replied",
        uow=uow,
    )


def resolve_unknown(*, actor: Actor, message_id: int, outcome: str, uow: UnitOfWork | None = None) -> None:
    """Settle an ``unknown`` send by hand after checking the provider: 'sent' or 'failed' (never resent)."""
    actor.require_permission("outreach.log")
    if outcome not in ("sent", "failed"):
        raise InvalidInput("An unknown send is resolved as sent or failed.")
    _set_status(actor, message_id, allowed_from=("unknown",), status=outcome, detail=f"resolved as {outcome}", uow=uow)


def requeue_failed(*, actor: Actor, message_id: int, uow: UnitOfWork | None = None) -> None:
    """Put a failed message back in the queue (the user decided to try again)."""
    actor.require_permission("outreach.log")
    _set_status(actor, message_id, allowed_from=("failed",), status="queued", detail="re-queued", uow=uow)


def export_eml(*, actor: Actor, message_id: int, uow: UnitOfWork | None = None) -> bytes:
    """An email message as a .eml file, exactly as it would be sent (footer and headers included)."""
    actor.require_permission("outreach.view")
    uow = uow or UnitOfWork()
    with uow:
        message = uow.session.get(Message, message_id)
        if message is None or message.workspace_id != actor.workspace_id:
            raise NotFound("That message does not exist in this workspace.")
        if message.channel != "email":
            raise InvalidInput("Only emails can be exported as .eml.")
        contact = uow.session.get(Contact, message.contact_id)
        workspace = uow.session.get(Workspace, message.workspace_id)
        assert contact is not None and workspace is not None
        outgoing = outgoing_for(message, contact, workspace, get_settings())
        return build_email(outgoing, sent_at=message.sent_at).as_bytes()
