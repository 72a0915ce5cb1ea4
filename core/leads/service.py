"""Lead services for the table: detail, edits, bulk actions, delete (tombstoned), re-crawl, re-score."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from core.auth.models import Actor
from core.db import UnitOfWork
from core.db.models import (
    LEAD_STATUSES,
    AuditEvent,
    Campaign,
    Contact,
    Evidence,
    Lead,
    LeadTombstone,
    Membership,
    Message,
    PageFetch,
    SearchHit,
    User,
)
from core.errors import InvalidInput, NotFound
from core.leads.models import (
    ContactView,
    CrawlView,
    EvidenceView,
    HitView,
    LeadDetail,
    MessageView,
)
from core.scoring.outdated import rubric_refs

MAX_BULK = 100_000


def audit(uow: UnitOfWork, actor: Actor, action: str, target_id: int | None, detail: dict[str, Any]) -> None:
    """Record who did what to which lead (added to the caller's transaction)."""
    uow.session.add(
        AuditEvent(
            workspace_id=actor.workspace_id,
            user_id=actor.user_id,
            action=action,
            target_type="lead",
            target_id=target_id,
            detail=detail,
        )
    )


def lead_or_raise(uow: UnitOfWork, actor: Actor, lead_id: int) -> Lead:
    """The actor's workspace's lead; ``NotFound`` for a missing lead or another workspace's."""
    lead = uow.session.get(Lead, lead_id)
    if lead is None or lead.workspace_id != actor.workspace_id:
        raise NotFound(f"Lead {lead_id} does not exist in this workspace.")
    return lead


def _owned_ids(uow: UnitOfWork, actor: Actor, lead_ids: list[int]) -> list[int]:
    if len(lead_ids) > MAX_BULK:
        raise InvalidInput(f"Select at most {MAX_BULK} leads at a time.")
    if not lead_ids:
        return []
    found: list[int] = []
    for start in range(0, len(lead_ids), 5000):
        chunk = lead_ids[start : start + 5000]
        found.extend(
            uow.session.scalars(select(Lead.id).where(Lead.workspace_id == actor.workspace_id, Lead.id.in_(chunk)))
        )
    return sorted(found)


def get_lead_detail_or_raise(*, actor: Actor, lead_id: int, uow: UnitOfWork | None = None) -> LeadDetail:
    """Everything about one lead: fields, evidence, contacts, score factors, provenance, crawl log, messages."""
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
                c.id, c.kind, c.value, c.label, c.person_name, c.person_title, c.is_role_address, c.verification
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
            audit(uow, actor, "lead.updated", lead.id, changed)
        uow.commit()


def set_status(*, actor: Actor, lead_ids: list[int], status: str, uow: UnitOfWork | None = None) -> int:
    """Set the status of the selected leads; returns how many changed."""
    if status not in LEAD_STATUSES:
        raise InvalidInput(f"Unknown status '{status}'.")
    uow = uow or UnitOfWork()
    with uow:
        ids = _owned_ids(uow, actor, lead_ids)
        for start in range(0, len(ids), 5000):
            uow.session.execute(update(Lead).where(Lead.id.in_(ids[start : start + 5000])).values(status=status))
        audit(uow, actor, "lead.bulk_status", None, {"status": status, "lead_ids": ids[:1000], "count": len(ids)})
        uow.commit()
    return len(ids)


def assign(*, actor: Actor, lead_ids: list[int], owner_id: int | None, uow: UnitOfWork | None = None) -> int:
    """Give the selected leads an owner (or none); returns how many."""
    uow = uow or UnitOfWork()
    with uow:
        _check_owner(uow, actor, owner_id)
        ids = _owned_ids(uow, actor, lead_ids)
        for start in range(0, len(ids), 5000):
            uow.session.execute(update(Lead).where(Lead.id.in_(ids[start : start + 5000])).values(owner_id=owner_id))
        audit(uow, actor, "lead.bulk_assign", None, {"owner_id": owner_id, "lead_ids": ids[:1000], "count": len(ids)})
        uow.commit()
    return len(ids)


def delete_leads(*, actor: Actor, lead_ids: list[int], uow: UnitOfWork | None = None) -> int:
    """Delete the selected leads and tombstone their domains, so no crawl or import brings them back."""
    uow = uow or UnitOfWork()
    with uow:
        ids = _owned_ids(uow, actor, lead_ids)
        rows = uow.session.execute(select(Lead.id, Lead.domain).where(Lead.id.in_(ids))).all() if ids else []
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
            audit(uow, actor, "lead.deleted", lead_id, {"domain": domain})
        uow.flush()
        for start in range(0, len(ids), 5000):
            uow.session.execute(delete(Lead).where(Lead.id.in_(ids[start : start + 5000])))
        uow.commit()
    return len(ids)


def rescore(*, actor: Actor, lead_ids: list[int], use_llm: bool = True) -> int:
    """Queue a re-score of the selected leads (a job on the llm queue); returns the job id."""
    from core import jobs
    from core.scoring import SCORE_JOB

    with UnitOfWork() as uow:
        ids = _owned_ids(uow, actor, lead_ids)
    if not ids:
        raise InvalidInput("Select at least one lead to re-score.")
    return jobs.submit(kind=SCORE_JOB, args={"lead_ids": ids, "use_llm": use_llm}, actor=actor)


def recrawl(*, actor: Actor, lead_ids: list[int]) -> list[int]:
    """Crawl the selected leads' websites again as a run of their campaign; returns the run ids."""
    from core.db.models import Run, RunSite
    from core.runs.service import submit_batches

    by_run: dict[int, list[str]] = {}
    with UnitOfWork() as uow:
        ids = _owned_ids(uow, actor, lead_ids)
        if not ids:
            raise InvalidInput("Select at least one lead to re-crawl.")
        fallback = uow.session.scalar(
            select(Campaign)
            .where(Campaign.workspace_id == actor.workspace_id, Campaign.approved_version_id.is_not(None))
            .order_by(Campaign.id.desc())
        )
        groups: dict[int, list[Lead]] = {}
        for lead in uow.session.scalars(select(Lead).where(Lead.id.in_(ids))):
            campaign = uow.session.get(Campaign, lead.campaign_id) if lead.campaign_id else None
            campaign = campaign if campaign is not None and campaign.approved_version_id else fallback
            if campaign is None:
                raise InvalidInput("Re-crawl needs an approved campaign: approve a strategy first.")
            groups.setdefault(campaign.id, []).append(lead)
        for campaign_id, leads in groups.items():
            campaign = uow.session.get(Campaign, campaign_id)
            assert campaign is not None and campaign.approved_version_id is not None
            run = Run(
                workspace_id=actor.workspace_id,
                campaign_id=campaign_id,
                strategy_version_id=campaign.approved_version_id,
                status="crawling",
                stats={"recrawl": True},
            )
            uow.session.add(run)
            uow.flush()
            for lead in leads:
                uow.session.add(
                    RunSite(
                        workspace_id=actor.workspace_id,
                        run_id=run.id,
                        domain=lead.domain,
                        url=lead.website or f"https://{lead.domain}/",
                        source="manual",
                    )
                )
            by_run[run.id] = [lead.domain for lead in leads]
        audit(uow, actor, "lead.recrawl", None, {"lead_ids": ids[:1000], "runs": list(by_run)})
        uow.commit()
    for run_id, domains in by_run.items():
        submit_batches(workspace_id=actor.workspace_id, run_id=run_id, domains=domains)
    return list(by_run)
