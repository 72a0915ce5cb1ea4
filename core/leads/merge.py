"""Duplicates: leads sharing a domain name or a contact email; merging them into one lead."""

from __future__ import annotations

from sqlalchemy import func, select, update

from core.actor import Actor
from core.audit import audit
from core.db import UnitOfWork
from core.db.models import Contact, Evidence, Lead, LeadTombstone, Message, Page, PageFetch, RunSite
from core.errors import InvalidInput
from core.leads.models import DuplicateGroup
from core.leads.repository import lead_or_raise


def _label(domain: str) -> str:
    return domain.lower().split(".", 1)[0]


def find_duplicates(*, actor: Actor, limit: int = 200, uow: UnitOfWork | None = None) -> list[DuplicateGroup]:
    """Groups of the workspace's leads that share a domain name (acme.com, acme.de) or a contact email."""
    actor.require_permission("lead.view")
    uow = uow or UnitOfWork()
    groups: list[DuplicateGroup] = []
    with uow:
        s = uow.session
        by_label: dict[str, list[tuple[int, str]]] = {}
        for lead_id, domain, name in s.execute(
            select(Lead.id, Lead.domain, Lead.name).where(
                Lead.workspace_id == actor.workspace_id, Lead.deleted_at.is_(None)
            )
        ):
            by_label.setdefault(_label(domain), []).append((lead_id, name or domain))
        for label, members in sorted(by_label.items()):
            if len(members) > 1 and len(label) > 2:
                groups.append(
                    DuplicateGroup("domain", label, tuple(m[0] for m in members), tuple(m[1] for m in members))
                )
        shared = (
            select(Contact.normalised_value)
            .where(Contact.workspace_id == actor.workspace_id, Contact.kind == "email")
            .group_by(Contact.normalised_value)
            .having(func.count(func.distinct(Contact.lead_id)) > 1)
            .limit(limit)
        )
        emails = list(s.scalars(shared))
        if emails:
            rows = s.execute(
                select(Contact.normalised_value, Lead.id, Lead.name, Lead.domain)
                .join(Lead, Lead.id == Contact.lead_id)
                .where(
                    Contact.workspace_id == actor.workspace_id,
                    Contact.kind == "email",
                    Contact.normalised_value.in_(emails),
                )
                .order_by(Contact.normalised_value, Lead.id)
            ).all()
            by_email: dict[str, dict[int, str]] = {}
            for email, lead_id, name, domain in rows:
                by_email.setdefault(email, {})[lead_id] = name or domain
            for email, names in by_email.items():
                groups.append(DuplicateGroup("email", email, tuple(names), tuple(names.values())))
    return groups[:limit]


def _free_step(uow: UnitOfWork, message: Message, lead_id: int, contact_id: int) -> int:
    taken = set(
        uow.session.scalars(
            select(Message.step).where(
                Message.workspace_id == message.workspace_id,
                Message.lead_id == lead_id,
                Message.contact_id == contact_id,
                Message.channel == message.channel,
            )
        )
    )
    step = message.step
    while step in taken:
        step += 1
    return step


def _move_contacts(uow: UnitOfWork, keep: Lead, other: Lead) -> int:
    s = uow.session
    existing = {(c.kind, c.normalised_value): c for c in s.scalars(select(Contact).where(Contact.lead_id == keep.id))}
    moved = 0
    for contact in list(s.scalars(select(Contact).where(Contact.lead_id == other.id))):
        twin = existing.get((contact.kind, contact.normalised_value))
        target = contact
        if twin is None:
            contact.lead_id = keep.id
            existing[(contact.kind, contact.normalised_value)] = contact
        else:
            target = twin
            twin.person_name = twin.person_name or contact.person_name
            twin.person_title = twin.person_title or contact.person_title
            twin.sms_consent_at = twin.sms_consent_at or contact.sms_consent_at
        s.flush()
        for message in list(s.scalars(select(Message).where(Message.contact_id == contact.id))):
            message.step = _free_step(uow, message, keep.id, target.id)
            message.lead_id, message.contact_id = keep.id, target.id
            s.flush()
        if twin is not None:
            s.delete(contact)
        moved += 1
    s.flush()
    return moved


def _move_evidence(uow: UnitOfWork, keep: Lead, other: Lead) -> int:
    s = uow.session
    have = set(s.scalars(select(Evidence.fingerprint).where(Evidence.lead_id == keep.id)))
    moved = 0
    for row in list(s.scalars(select(Evidence).where(Evidence.lead_id == other.id))):
        if row.fingerprint in have:
            s.delete(row)  # the very same fact from the same page: already on the kept lead
            continue
        row.lead_id = keep.id
        have.add(row.fingerprint)
        moved += 1
    urls = set(s.scalars(select(Page.url).where(Page.lead_id == keep.id)))
    for page in list(s.scalars(select(Page).where(Page.lead_id == other.id))):
        if page.url in urls:
            s.delete(page)
        else:
            page.lead_id = keep.id
    s.flush()
    return moved


def merge_leads(*, actor: Actor, keep_id: int, merge_ids: list[int], uow: UnitOfWork | None = None) -> int:
    """Merge leads into ``keep_id``: contacts, evidence, messages and history move; the others go."""
    actor.require_permission("lead.merge")
    others = [i for i in dict.fromkeys(merge_ids) if i != keep_id]
    if not others:
        raise InvalidInput("Choose at least one other lead to merge into the kept one.")
    uow = uow or UnitOfWork()
    with uow:
        s = uow.session
        keep = lead_or_raise(uow, actor, keep_id)
        for other_id in others:
            other = lead_or_raise(uow, actor, other_id)
            messages = s.scalar(select(func.count()).select_from(Message).where(Message.lead_id == other.id)) or 0
            contacts = _move_contacts(uow, keep, other)
            evidence = _move_evidence(uow, keep, other)
            s.execute(update(Message).where(Message.lead_id == other.id).values(lead_id=keep.id))
            s.execute(update(PageFetch).where(PageFetch.lead_id == other.id).values(lead_id=keep.id))
            s.execute(update(RunSite).where(RunSite.lead_id == other.id).values(lead_id=keep.id))
            for name in ("name", "website", "summary", "industry", "location", "country", "opening_hours"):
                if not getattr(keep, name) and getattr(other, name):
                    setattr(keep, name, getattr(other, name))
            keep.tags = list(dict.fromkeys([*(keep.tags or []), *(other.tags or [])]))
            keep.tech = list(dict.fromkeys([*(keep.tech or []), *(other.tech or [])]))
            if other.notes and other.notes not in keep.notes:
                keep.notes = f"{keep.notes}\n{other.notes}".strip()
            if (
                other.domain != keep.domain
                and s.scalar(
                    select(LeadTombstone.id).where(
                        LeadTombstone.workspace_id == actor.workspace_id, LeadTombstone.domain == other.domain
                    )
                )
                is None
            ):
                # the merged domain is this company too: a later crawl or import must not re-create it
                s.add(LeadTombstone(workspace_id=actor.workspace_id, domain=other.domain, deleted_by=actor.user_id))
            audit(
                uow,
                "lead.merged",
                actor=actor,
                target_type="lead",
                target_id=keep.id,
                detail={
                    "merged_id": other.id,
                    "merged_domain": other.domain,
                    "contacts": contacts,
                    "evidence": evidence,
                    "messages": int(messages),
                },
            )
            s.flush()
            s.delete(other)
            s.flush()
        uow.commit()
    return len(others)
