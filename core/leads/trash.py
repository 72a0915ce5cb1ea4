"""The trash: deleted leads are kept for ``TRASH_DAYS`` and owners and admins may restore them.

A lead in the trash has ``deleted_at`` set; every list, search, count, export and outreach pick
skips it (``Lead.deleted_at.is_(None)``), and its domain is tombstoned so no crawl or import brings
it back meanwhile. The message log keeps its messages. After ``TRASH_DAYS`` the purge (on opening the
trash, and as a periodic job) removes the lead with its contacts and evidence, unless a message was
sent to it: that lead's row stays, hidden and no longer restorable, so the log never loses a sent message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select

from core.actor import Actor
from core.audit import audit
from core.background.context import JobContext
from core.db import UnitOfWork
from core.db.models import Lead, LeadTombstone, Message, User, utcnow
from core.leads.repository import MAX_BULK

TRASH_DAYS = 30


@dataclass(frozen=True)
class TrashedLead:
    """A lead in the trash, as the trash view lists it."""

    id: int
    name: str
    domain: str
    status: str
    deleted_at: datetime
    deleted_by: str
    restorable_until: datetime


def _sent_to(lead_id_column: Any) -> Any:
    return exists(select(Message.id).where(Message.lead_id == lead_id_column, Message.sent_at.is_not(None)))


def move_to_trash(uow: UnitOfWork, *, actor: Actor, lead_ids: list[int]) -> None:
    """Put live leads of the actor's workspace in the trash and tombstone their domains (no commit)."""
    now = utcnow()
    rows = uow.session.execute(select(Lead.id, Lead.domain).where(Lead.id.in_(lead_ids))).all() if lead_ids else []
    known = set(
        uow.session.scalars(
            select(LeadTombstone.domain).where(
                LeadTombstone.workspace_id == actor.workspace_id, LeadTombstone.domain.in_([d for _i, d in rows])
            )
        )
    )
    for lead_id, domain in rows:
        if domain not in known:
            uow.session.add(LeadTombstone(workspace_id=actor.workspace_id, domain=domain, deleted_by=actor.user_id))
        audit(uow, "lead.deleted", actor=actor, target_type="lead", target_id=lead_id, detail={"domain": domain})
    for lead in uow.session.scalars(select(Lead).where(Lead.id.in_([i for i, _d in rows]))):
        lead.deleted_at, lead.deleted_by = now, actor.user_id
    uow.flush()


def purge_trash(*, now: datetime | None = None, workspace_id: int | None = None, uow: UnitOfWork | None = None) -> int:
    """Remove leads trashed more than ``TRASH_DAYS`` ago (those with a sent message keep a hidden row); returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=TRASH_DAYS)
    uow = uow or UnitOfWork()
    with uow:
        query = select(Lead.id).where(Lead.deleted_at.is_not(None), Lead.deleted_at < cutoff, ~_sent_to(Lead.id))
        if workspace_id is not None:
            query = query.where(Lead.workspace_id == workspace_id)
        ids = list(uow.session.scalars(query))
        for start in range(0, len(ids), 5000):
            uow.session.execute(delete(Lead).where(Lead.id.in_(ids[start : start + 5000])))
        uow.commit()
    return len(ids)


def list_trash(*, actor: Actor, uow: UnitOfWork | None = None) -> list[TrashedLead]:
    """The workspace's restorable trashed leads, most recently deleted first (owners and admins); purges first."""
    actor.require_permission("lead.trash")
    purge_trash(workspace_id=actor.workspace_id)
    cutoff = utcnow() - timedelta(days=TRASH_DAYS)
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.execute(
            select(Lead.id, Lead.name, Lead.domain, Lead.status, Lead.deleted_at, User.email)
            .outerjoin(User, User.id == Lead.deleted_by)
            .where(Lead.workspace_id == actor.workspace_id, Lead.deleted_at >= cutoff)
            .order_by(Lead.deleted_at.desc(), Lead.id.desc())
            .limit(MAX_BULK)
        ).all()
    return [
        TrashedLead(i, name or domain, domain, status, at, email or "", at + timedelta(days=TRASH_DAYS))
        for i, name, domain, status, at, email in rows
        if at is not None
    ]


def restore_leads(*, actor: Actor, lead_ids: list[int], uow: UnitOfWork | None = None) -> int:
    """Bring trashed leads back (owners and admins, within ``TRASH_DAYS``); returns how many came back."""
    actor.require_permission("lead.trash")
    cutoff = utcnow() - timedelta(days=TRASH_DAYS)
    uow = uow or UnitOfWork()
    with uow:
        leads = list(
            uow.session.scalars(
                select(Lead).where(
                    Lead.workspace_id == actor.workspace_id,
                    Lead.id.in_(lead_ids[:MAX_BULK]),
                    Lead.deleted_at >= cutoff,
                )
            )
        )
        for lead in leads:
            lead.deleted_at, lead.deleted_by = None, None
            uow.session.execute(
                delete(LeadTombstone).where(
                    LeadTombstone.workspace_id == actor.workspace_id, LeadTombstone.domain == lead.domain
                )
            )
            audit(
                uow, "lead.restored", actor=actor, target_type="lead", target_id=lead.id, detail={"domain": lead.domain}
            )
        uow.commit()
    return len(leads)


def purge_trash_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Periodic job: purge every workspace's trash of leads deleted more than ``TRASH_DAYS`` ago."""
    purged = purge_trash()
    ctx.progress(1, 1, f"Purged {purged} lead(s) from the trash")
    return {"purged": purged}
