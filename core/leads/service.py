"""Lead services for the table: detail, edits, bulk actions, delete (to the trash), re-crawl, re-score."""

from __future__ import annotations

from sqlalchemy import select, update

from core import background
from core.actor import Actor
from core.audit import audit
from core.db import UnitOfWork
from core.db.models import (
    LEAD_STATUSES,
    Contact,
    Evidence,
    Lead,
    Membership,
    Message,
    PageFetch,
    SearchHit,
    User,
)
from core.errors import InvalidInput
from core.leads.models import (
    ContactView,
    CrawlView,
    EvidenceView,
    HitView,
    LeadDetail,
    MessageView,
)
from core.leads.people import people_of
from core.leads.repository import lead_or_raise, owned_lead_ids
from core.leads.rubrics import rubric_refs
from core.leads.trash import move_to_trash
from core.outreach.sequence_stops import leave_for_status
from core.webhooks import events as webhooks


def get_lead_detail_or_raise(*, actor: Actor, lead_id: int, uow: UnitOfWork | None = None) -> LeadDetail:
    """Everything about one lead: fields, evidence, contacts, score factors, provenance, crawl log, messages."""
    actor.require_permission("lead.view")
    uow = uow or UnitOfWork()
    with uow:
        lead = lead_or_raise(uow, actor, lead_id)
        s = uow.session
        evidence = [
            EvidenceView(e.id, e.field, e.value, e.source_url, e.snippet)
            for e in s.scalars(
                select(Evidence).where(Evidence.lead_id == lead.id).order_by(Evidence.field, Evidence.id)
            )
        ]
        contacts = [
            ContactView(
                c.id,
                c.kind,
                c.value,
                c.label,
                c.person_name,
                c.person_title,
                c.is_role_address,
                c.verification,
                tuple(c.verification_reasons or ()),
                c.verified_at,
            )
            for c in s.scalars(select(Contact).where(Contact.lead_id == lead.id).order_by(Contact.kind, Contact.id))
        ]
        hits = [
            HitView(h.query, h.rank, h.url, h.title, h.snippet, h.run_id)
            for h in s.scalars(
                select(SearchHit)
                .where(SearchHit.workspace_id == actor.workspace_id, SearchHit.domain == lead.domain)
                .order_by(SearchHit.id.desc())
                .limit(50)
            )
        ]
        crawl = [
            CrawlView(p.url, p.status_code, p.bytes, p.robots, p.error, p.fetched_at)
            for p in s.scalars(
                select(PageFetch).where(PageFetch.lead_id == lead.id).order_by(PageFetch.id.desc()).limit(100)
            )
        ]
        messages = [
            MessageView(m.id, m.channel, m.step, m.status, m.subject, value or "", m.sent_at, m.created_at)
            for m, value in s.execute(
                select(Message, Contact.value)
                .outerjoin(Contact, Contact.id == Message.contact_id)
                .where(Message.lead_id == lead.id, Message.workspace_id == actor.workspace_id)
                .order_by(Message.id.desc())
            )
        ]
        owner = s.scalar(select(User.email).where(User.id == lead.owner_id)) if lead.owner_id else None
        scored_rubric, current_rubric = rubric_refs(uow, workspace_id=actor.workspace_id, lead=lead)
        return LeadDetail(
            id=lead.id,
            domain=lead.domain,
            name=lead.name,
            website=lead.website,
            summary=lead.summary,
            industry=lead.industry,
            location=lead.location,
            country=lead.country,
            city=lead.city,
            opening_hours=lead.opening_hours,
            tech=tuple(lead.tech or ()),
            score=lead.score,
            score_factors=tuple(lead.score_factors or ()),
            rubric_version=lead.rubric_version,
            status=lead.status,
            owner_id=lead.owner_id,
            owner=owner or "",
            tags=tuple(lead.tags or ()),
            notes=lead.notes,
            source=lead.source,
            campaign_id=lead.campaign_id,
            created_at=lead.created_at,
            updated_at=lead.updated_at,
            evidence=tuple(evidence),
            contacts=tuple(contacts),
            people=people_of(tuple(contacts), tuple(evidence)),
            hits=tuple(hits),
            crawl_log=tuple(crawl),
            messages=tuple(messages),
            scored_rubric=scored_rubric,
            current_rubric=current_rubric,
        )


def _check_owner(uow: UnitOfWork, actor: Actor, owner_id: int | None) -> None:
    if owner_id is None:
        return
    member = uow.session.scalar(
        select(Membership.id).where(Membership.workspace_id == actor.workspace_id, Membership.user_id == owner_id)
    )
    if member is None:
        raise InvalidInput("The owner must be a member of this workspace.")


def _tidy_tags(tags: list[str]) -> list[str]:
    seen: list[str] = []
    for tag in tags:
        text = " ".join(str(tag).split())[:64]
        if text and text not in seen:
            seen.append(text)
    return seen


def update_lead(
    *,
    actor: Actor,
    lead_id: int,
    status: str,
    owner_id: int | None,
    tags: list[str],
    notes: str,
    uow: UnitOfWork | None = None,
) -> None:
    """Change a lead's status, owner, tags and notes (recorded in the audit log)."""
    actor.require_permission("lead.edit")
    if status not in LEAD_STATUSES:
        raise InvalidInput(f"Unknown status '{status}'.")
    uow = uow or UnitOfWork()
    with uow:
        lead = lead_or_raise(uow, actor, lead_id)
        _check_owner(uow, actor, owner_id)
        before = {"status": lead.status, "owner_id": lead.owner_id, "tags": list(lead.tags or []), "notes": lead.notes}
        lead.status, lead.owner_id, lead.tags, lead.notes = status, owner_id, _tidy_tags(tags), notes
        after = {"status": status, "owner_id": owner_id, "tags": lead.tags, "notes": notes}
        changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if changed:
            audit(uow, "lead.updated", actor=actor, target_type="lead", target_id=lead.id, detail=changed)
        if status != before["status"]:
            leave_for_status(uow.session, lead_ids=[lead.id], status=status)
        if status == "qualified" and before["status"] != "qualified":
            webhooks.emit(uow, workspace_id=actor.workspace_id, event="lead.qualified", data=webhooks.lead_data(lead))
        uow.commit()


def set_status(*, actor: Actor, lead_ids: list[int], status: str, uow: UnitOfWork | None = None) -> int:
    """Set the status of the selected leads; returns how many changed."""
    actor.require_permission("lead.edit")
    if status not in LEAD_STATUSES:
        raise InvalidInput(f"Unknown status '{status}'.")
    uow = uow or UnitOfWork()
    with uow:
        ids = owned_lead_ids(uow, actor, lead_ids)
        newly_qualified: list[Lead] = []
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            if status == "qualified":
                newly_qualified.extend(
                    uow.session.scalars(select(Lead).where(Lead.id.in_(chunk), Lead.status != "qualified"))
                )
            uow.session.execute(update(Lead).where(Lead.id.in_(chunk)).values(status=status))
            leave_for_status(uow.session, lead_ids=chunk, status=status)
        if newly_qualified:
            items = [{**webhooks.lead_data(lead), "status": "qualified"} for lead in newly_qualified]
            webhooks.emit_many(uow, workspace_id=actor.workspace_id, event="lead.qualified", items=items)
        audit(
            uow,
            "lead.bulk_status",
            actor=actor,
            target_type="lead",
            target_id=None,
            detail={"status": status, "lead_ids": ids[:1000], "count": len(ids)},
        )
        uow.commit()
    return len(ids)


def assign(*, actor: Actor, lead_ids: list[int], owner_id: int | None, uow: UnitOfWork | None = None) -> int:
    """Give the selected leads an owner (or none); returns how many."""
    actor.require_permission("lead.edit")
    uow = uow or UnitOfWork()
    with uow:
        _check_owner(uow, actor, owner_id)
        ids = owned_lead_ids(uow, actor, lead_ids)
        for start in range(0, len(ids), 5000):
            uow.session.execute(update(Lead).where(Lead.id.in_(ids[start : start + 5000])).values(owner_id=owner_id))
        audit(
            uow,
            "lead.bulk_assign",
            actor=actor,
            target_type="lead",
            target_id=None,
            detail={"owner_id": owner_id, "lead_ids": ids[:1000], "count": len(ids)},
        )
        uow.commit()
    return len(ids)


def delete_leads(*, actor: Actor, lead_ids: list[int], uow: UnitOfWork | None = None) -> int:
    """Move the selected leads to the trash (owners and admins restore them for 30 days; see ``trash``)."""
    actor.require_permission("lead.delete")
    uow = uow or UnitOfWork()
    with uow:
        ids = owned_lead_ids(uow, actor, lead_ids)
        move_to_trash(uow, actor=actor, lead_ids=ids)
        uow.commit()
    return len(ids)


def rescore(*, actor: Actor, lead_ids: list[int], use_llm: bool = True) -> int:
    """Queue a re-score of the selected leads (a job on the llm queue); returns the job id."""
    actor.require_permission("lead.rescore")
    with UnitOfWork() as uow:
        ids = owned_lead_ids(uow, actor, lead_ids)
    if not ids:
        raise InvalidInput("Select at least one lead to re-score.")
    return background.submit(kind=background.kinds.SCORE_LEADS, args={"lead_ids": ids, "use_llm": use_llm}, actor=actor)
