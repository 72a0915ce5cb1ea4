"""The bounce guard: a sender that bounces or draws complaints pauses itself until someone resumes it.

A sender is (workspace, channel, provider): one provider account or mailbox as the workspace uses
it. It pauses when more than ``BOUNCE_RATE`` of its last ``BOUNCE_WINDOW`` accepted emails hard
bounced (more than 3 of the last 100), or more than ``COMPLAINT_RATE`` of its last
``COMPLAINT_WINDOW`` drew a spam complaint (more than 1 of the last 1,000). The rates are taken
over the whole window, however few messages went out yet, so a new sender whose first emails
bounce stops early. The check runs where a bounce or complaint is recorded (provider events);
the claim leaves a paused sender's messages queued. Resuming is an admin's deliberate, audited
action, and starts a fresh window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actor import Actor
from core.audit import audit
from core.db import UnitOfWork
from core.db.models import AuditEvent, Message, MessageEvent, SenderPause, utcnow
from core.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

BOUNCE_WINDOW, BOUNCE_RATE = 100, 0.03
COMPLAINT_WINDOW, COMPLAINT_RATE = 1000, 0.001
COMPLAINT = "complaint"  # the MessageEvent status a spam complaint leaves on its message


@dataclass(frozen=True)
class PausedSender:
    """A paused sender as the page and ``core check`` show it."""

    id: int
    workspace_id: int
    channel: str
    provider: str
    reason: str
    paused_at: datetime | None

    @property
    def message(self) -> str:
        """One sentence for people."""
        return (
            f"Sending {self.channel} through {self.provider} is paused: {self.reason} "
            "Queued messages wait until an admin resumes this sender (check the list and the provider first)."
        )


def _accepted(workspace_id: int, channel: str, provider: str, since: datetime | None, window: int):  # type: ignore[no-untyped-def]
    query = select(Message.id, Message.status).where(
        Message.workspace_id == workspace_id,
        Message.channel == channel,
        Message.provider == provider,
        Message.sent_at.is_not(None),
    )
    if since is not None:
        query = query.where(Message.sent_at >= since)
    return query.order_by(Message.sent_at.desc(), Message.id.desc()).limit(window).subquery()


def over_limits(
    session: Session, *, workspace_id: int, channel: str, provider: str, since: datetime | None = None
) -> str:
    """Why this sender must pause (empty when its bounces and complaints are within the limits)."""
    last = _accepted(workspace_id, channel, provider, since, BOUNCE_WINDOW)
    bounced = session.scalar(select(func.count()).select_from(last).where(last.c.status == "bounced")) or 0
    if bounced > BOUNCE_RATE * BOUNCE_WINDOW:
        return (
            f"{bounced} of its last {BOUNCE_WINDOW} emails hard-bounced (the limit is "
            f"{BOUNCE_RATE:.0%}: more than {BOUNCE_RATE * BOUNCE_WINDOW:.0f})."
        )
    wider = _accepted(workspace_id, channel, provider, since, COMPLAINT_WINDOW)
    complaints = (
        session.scalar(
            select(func.count(func.distinct(MessageEvent.message_id))).where(
                MessageEvent.status == COMPLAINT, MessageEvent.message_id.in_(select(wider.c.id))
            )
        )
        or 0
    )
    if complaints > COMPLAINT_RATE * COMPLAINT_WINDOW:
        return (
            f"{complaints} of its last {COMPLAINT_WINDOW:,} emails drew a spam complaint (the limit is "
            f"{COMPLAINT_RATE:.1%}: more than {COMPLAINT_RATE * COMPLAINT_WINDOW:.0f})."
        )
    return ""


def _row(session: Session, workspace_id: int, channel: str, provider: str) -> SenderPause | None:
    return session.scalar(
        select(SenderPause).where(
            SenderPause.workspace_id == workspace_id, SenderPause.channel == channel, SenderPause.provider == provider
        )
    )


def check_sender(session: Session, *, workspace_id: int, channel: str, provider: str) -> bool:
    """Pause the sender (inside the caller's transaction) when it is over a limit; True when it is paused now."""
    row = _row(session, workspace_id, channel, provider)
    if row is not None and row.paused:
        return True
    reason = over_limits(
        session,
        workspace_id=workspace_id,
        channel=channel,
        provider=provider,
        since=row.counted_from if row is not None else None,
    )
    if not reason:
        return False
    if row is None:
        row = SenderPause(workspace_id=workspace_id, channel=channel, provider=provider)
        session.add(row)
    row.paused, row.reason, row.paused_at = True, reason, utcnow()
    session.flush()
    session.add(
        AuditEvent(
            workspace_id=workspace_id,
            user_id=None,
            action="outreach.sender_paused",
            target_type="sender_pause",
            target_id=row.id,
            detail={"channel": channel, "provider": provider, "reason": reason},
        )
    )
    log.warning("bounce guard paused %s/%s of workspace %s: %s", channel, provider, workspace_id, reason)
    return True


def paused_keys(session: Session, workspace_ids: set[int]) -> set[tuple[int, str, str]]:
    """(workspace, channel, provider) of the paused senders among these workspaces (for the claim)."""
    if not workspace_ids:
        return set()
    rows = session.execute(
        select(SenderPause.workspace_id, SenderPause.channel, SenderPause.provider).where(
            SenderPause.paused.is_(True), SenderPause.workspace_id.in_(sorted(workspace_ids))
        )
    )
    return {(ws, channel, provider) for ws, channel, provider in rows}


def _view(row: SenderPause) -> PausedSender:
    return PausedSender(
        id=row.id,
        workspace_id=row.workspace_id,
        channel=row.channel,
        provider=row.provider,
        reason=row.reason,
        paused_at=row.paused_at,
    )


def paused_senders(*, workspace_id: int | None, uow: UnitOfWork | None = None) -> list[PausedSender]:
    """The paused senders of a workspace (every workspace's with None: the operator's check)."""
    uow = uow or UnitOfWork()
    with uow:
        query = select(SenderPause).where(SenderPause.paused.is_(True))
        if workspace_id is not None:
            query = query.where(SenderPause.workspace_id == workspace_id)
        return [_view(row) for row in uow.session.scalars(query.order_by(SenderPause.id))]


def list_paused_senders(*, actor: Actor, uow: UnitOfWork | None = None) -> list[PausedSender]:
    """The actor's workspace's paused senders."""
    actor.require_permission("outreach.view")
    return paused_senders(workspace_id=actor.workspace_id, uow=uow)


def resume_sender(*, actor: Actor, pause_id: int, uow: UnitOfWork | None = None) -> None:
    """Resume a paused sender (admins; audited): its bounces and complaints are counted afresh from now."""
    actor.require_permission("outreach.settings")
    uow = uow or UnitOfWork()
    with uow:
        row = uow.session.get(SenderPause, pause_id)
        if row is None or row.workspace_id != actor.workspace_id:
            raise NotFound("That sender does not exist in this workspace.")
        if not row.paused:
            raise InvalidInput("That sender is not paused.")
        now = utcnow()
        row.paused, row.resumed_at, row.resumed_by, row.counted_from = False, now, actor.user_id, now
        audit(
            uow,
            "outreach.sender_resumed",
            actor=actor,
            target_type="sender_pause",
            target_id=row.id,
            detail={"channel": row.channel, "provider": row.provider, "paused_for": row.reason},
        )
        uow.commit()
