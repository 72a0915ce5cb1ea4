"""When queued messages go: the scheduled sender's check and the times the Outreach page shows.

A queued message waits while its recipient is outside the workspace's sending window or the sender's
daily cap is used up. The periodic job ``outreach.send_due`` (``core.background.schedule``) runs the
ordinary sender (``sender.send_queued``: claims, suppression, consent, window, cap) whenever some
queued message is in its window, so nothing stays queued once its time has come, and nothing goes
twice: only the claim moves a message out of ``queued``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from core.actor import Actor
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import Contact, Enrollment, Lead, Message, SendQuota, Sequence, Workspace, utcnow
from core.outreach import guard, limits
from core.outreach.channels import email_provider_name, sms_provider_name
from core.outreach.claim import IS_ANSWER, UNCAPPED_COUNT_LIMIT, counted_towards_cap

MAX_SHOWN = 500
MAX_SCANNED = 10_000  # queued messages the scheduled check looks at per tick


@dataclass(frozen=True)
class QueuedView:
    """A queued message and when the scheduled sender will send it (None: not until the rules change)."""

    message_id: int
    lead_name: str
    contact: str
    channel: str
    goes_at: datetime | None
    why: str


def _zones(ws: Mapping[str, Any], channel: str, location: str, country: str, value: str) -> Any:
    return limits.recipient_zones(
        location=location or "",
        country=country or "",
        phone=value if channel == "sms" else "",
        fallback=ws.get("timezone") or "UTC",
    )


def any_due(
    *,
    now: datetime | None = None,
    workspace_id: int | None = None,
    uow: UnitOfWork | None = None,
    settings: Settings | None = None,
) -> bool:
    """True when some queued message (of any workspace, or of one) could go now: inside its recipient's
    sending window, with its sender's daily cap not used up and its sender not paused by the bounce guard.
    A capped or paused sender's messages wait without a sending job every minute until the next day, and a
    paused contact's or sequence's step until it is resumed."""
    now = now or utcnow()
    settings = settings or get_settings()
    providers = {"email": email_provider_name(settings), "sms": sms_provider_name(settings)}
    uow = uow or UnitOfWork()
    with uow:
        query = (
            select(
                Message.workspace_id,
                Message.channel,
                Lead.location,
                Lead.country,
                Contact.value,
                IS_ANSWER.label("is_answer"),
            )
            .join(Lead, Lead.id == Message.lead_id)
            .join(Contact, Contact.id == Message.contact_id)
            .outerjoin(Enrollment, Enrollment.id == Message.enrollment_id)
            .outerjoin(Sequence, Sequence.id == Enrollment.sequence_id)
            .where(
                Message.status == "queued",
                # a step of a paused contact or sequence waits for the resume, not for a job every minute
                or_(Message.enrollment_id.is_(None), and_(Enrollment.status != "paused", Sequence.status != "paused")),
            )
        )
        if workspace_id is not None:
            query = query.where(Message.workspace_id == workspace_id)
        rows = uow.session.execute(query.order_by(Message.id).limit(MAX_SCANNED)).all()
        if not rows:
            return False
        workspaces: dict[int, dict[str, Any]] = dict(
            uow.session.execute(
                select(Workspace.id, Workspace.settings).where(Workspace.id.in_({r.workspace_id for r in rows}))
            ).all()
        )
        paused = guard.paused_keys(uow.session, set(workspaces))
        open_senders: dict[tuple[int, str], bool] = {}
        for row in rows:
            provider = providers.get(row.channel, "")
            if row.is_answer and (row.workspace_id, row.channel, provider) not in paused:
                return True  # an answer goes at once (see claim.IS_ANSWER)
            key = (row.workspace_id, row.channel)
            if key not in open_senders:
                ws = workspaces.get(row.workspace_id) or {}
                left = _left_today(uow, ws, row.workspace_id, row.channel, provider, now)
                open_senders[key] = (row.workspace_id, row.channel, provider) not in paused and (
                    left is None or left > 0
                )
            if not open_senders[key]:
                continue
            ws = workspaces.get(row.workspace_id) or {}
            zones = _zones(ws, row.channel, row.location, row.country, row.value)
            if limits.in_window(now, zones, limits.window_of(ws)):
                return True
    return False


def _left_today(
    uow: UnitOfWork, ws: Mapping[str, Any], workspace_id: int, channel: str, provider: str, now: datetime
) -> int | None:
    """How many more messages the sender may send today (None: no cap), read without spending any."""
    cap = limits.daily_cap(ws, channel)
    if cap is None:
        return None
    since = limits.start_of_day(now, ws.get("timezone") or "UTC")
    used = uow.session.scalar(
        select(SendQuota.used).where(
            SendQuota.workspace_id == workspace_id,
            SendQuota.channel == channel,
            SendQuota.provider == provider,
            SendQuota.day == since.date(),
        )
    )
    if used is None:
        used = counted_towards_cap(
            uow.session,
            workspace_id=workspace_id,
            channel=channel,
            provider=provider,
            since=since,
            cap=cap or UNCAPPED_COUNT_LIMIT,
        )
    return cap - used


def queued_schedule(
    *, actor: Actor, now: datetime | None = None, settings: Settings | None = None, uow: UnitOfWork | None = None
) -> list[QueuedView]:
    """The workspace's queued messages (oldest first) with when each will go and why it waits."""
    actor.require_permission("outreach.view")
    now = now or utcnow()
    settings = settings or get_settings()
    providers = {"email": email_provider_name(settings), "sms": sms_provider_name(settings)}
    uow = uow or UnitOfWork()
    views: list[QueuedView] = []
    with uow:
        workspace = uow.session.get(Workspace, actor.workspace_id)
        assert workspace is not None
        ws = dict(workspace.settings)
        rows = uow.session.execute(
            select(
                Message.id,
                Message.channel,
                Lead.name,
                Lead.domain,
                Lead.location,
                Lead.country,
                Contact.value,
                IS_ANSWER.label("is_answer"),
            )
            .join(Lead, Lead.id == Message.lead_id)
            .join(Contact, Contact.id == Message.contact_id)
            .where(Message.workspace_id == actor.workspace_id, Message.status == "queued")
            .order_by(Message.id)
            .limit(MAX_SHOWN)
        ).all()
        left = {
            channel: _left_today(uow, ws, actor.workspace_id, channel, provider, now)
            for channel, provider in providers.items()
        }
    window = limits.window_of(ws)
    start, end, days = window
    tomorrow = limits.start_of_day(now, ws.get("timezone") or "UTC") + timedelta(days=1)
    for row in rows:
        zones = _zones(ws, row.channel, row.location, row.country, row.value)
        goes_at = limits.next_send_at(now, zones, window)
        if row.is_answer:
            goes_at = now
            why = "an answer to their reply: the next pass sends it, whatever the hour and today's cap"
        elif goes_at is None:
            why = (
                "no sending days are chosen (Sending rules)"
                if not days
                else "the recipient's time zones never share the sending hours (Sending rules)"
            )
        elif goes_at > now:
            why = f"waits for the sending window ({start:02d}:00–{end:02d}:00 in the recipient's time zone)"
        elif left[row.channel] is not None and (left[row.channel] or 0) <= 0:
            goes_at = limits.next_send_at(tomorrow, zones, window)
            why = f"today's {row.channel} cap is used up; it goes in tomorrow's window"
        else:
            if left[row.channel] is not None:
                left[row.channel] = (left[row.channel] or 0) - 1
            why = "in the sending window: the next pass (within a minute) sends it"
        views.append(
            QueuedView(
                message_id=row.id,
                lead_name=row.name or row.domain,
                contact=row.value,
                channel=row.channel,
                goes_at=goes_at,
                why=why,
            )
        )
    return views
