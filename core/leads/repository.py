"""Storage of leads, their contacts and evidence. Repositories never commit."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import Contact, Evidence, Lead, LeadTombstone
from core.errors import InvalidInput, NotFound
from core.extract.emails import is_role_address
from core.extract.models import Fact, SiteProfile


def evidence_fingerprint(field: str, value: str, url: str) -> str:
    """The identity of an evidence row: the same fact from the same page is stored once."""
    return hashlib.sha256(f"{field}\x1f{value}\x1f{url}".encode()).hexdigest()


def is_tombstoned(uow: UnitOfWork, *, workspace_id: int, domain: str) -> bool:
    """True when the workspace deleted a lead with this domain (it must not come back)."""
    return (
        uow.session.scalar(
            select(LeadTombstone.id).where(LeadTombstone.workspace_id == workspace_id, LeadTombstone.domain == domain)
        )
        is not None
    )


def get_lead_by_domain(uow: UnitOfWork, *, workspace_id: int, domain: str) -> Lead | None:
    """The workspace's lead for ``domain``, or None."""
    return uow.session.scalar(select(Lead).where(Lead.workspace_id == workspace_id, Lead.domain == domain))


def upsert_lead(
    uow: UnitOfWork,
    *,
    workspace_id: int,
    domain: str,
    website: str,
    name: str = "",
    source: str = "search",
    campaign_id: int | None = None,
) -> tuple[Lead | None, bool]:
    """(lead, created) for ``domain``; (None, False) when the domain was deleted before."""
    if is_tombstoned(uow, workspace_id=workspace_id, domain=domain):
        return None, False
    lead = get_lead_by_domain(uow, workspace_id=workspace_id, domain=domain)
    if lead is not None:
        if not lead.name and name:
            lead.name = name[:300]
        if not lead.website:
            lead.website = website[:2048]
        return lead, False
    savepoint = uow.session.begin_nested()
    lead = Lead(
        workspace_id=workspace_id,
        domain=domain,
        website=website[:2048],
        name=name[:300],
        source=source,
        campaign_id=campaign_id,
    )
    uow.session.add(lead)
    try:
        savepoint.commit()
    except IntegrityError:  # another worker created it first: use theirs
        savepoint.rollback()
        existing = get_lead_by_domain(uow, workspace_id=workspace_id, domain=domain)
        if existing is None:
            raise
        return existing, False
    return lead, True


def _contact_kind(field: str) -> str | None:
    if field == "email":
        return "email"
    if field == "phone":
        return "phone"
    if field.startswith("social:"):
        return "social"
    if field == "contact_form":
        return "form"
    return None


def upsert_contact(uow: UnitOfWork, *, lead: Lead, kind: str, value: str, label: str = "") -> Contact:
    """The lead's contact of ``kind`` with ``value`` (normalised), created if new."""
    if kind == "person":
        normalised = _person_key(value)
    else:
        normalised = value.strip().lower() if kind in ("email", "social", "form") else value.strip()
    contact = uow.session.scalar(
        select(Contact).where(Contact.lead_id == lead.id, Contact.kind == kind, Contact.normalised_value == normalised)
    )
    if contact is None:
        contact = Contact(
            workspace_id=lead.workspace_id,
            lead_id=lead.id,
            kind=kind,
            value=value.strip()[:1024],
            normalised_value=normalised[:1024],
            label=label[:64],
            is_role_address=kind == "email" and is_role_address(normalised),
        )
        uow.session.add(contact)
    return contact


def add_evidence(uow: UnitOfWork, *, lead: Lead, facts: list[Fact]) -> int:
    """Store facts as evidence rows, skipping ones already stored; returns how many were new."""
    fingerprints = {evidence_fingerprint(f.field, f.value, f.url): f for f in facts}
    existing = set(
        uow.session.scalars(
            select(Evidence.fingerprint).where(
                Evidence.lead_id == lead.id, Evidence.fingerprint.in_(list(fingerprints))
            )
        )
    )
    added = 0
    for fingerprint, fact in fingerprints.items():
        if fingerprint in existing:
            continue
        uow.session.add(
            Evidence(
                workspace_id=lead.workspace_id,
                lead_id=lead.id,
                field=fact.field[:64],
                value=fact.value,
                source_url=fact.url[:2048],
                snippet=fact.snippet,
                fingerprint=fingerprint,
            )
        )
        added += 1
    return added


def apply_profile(uow: UnitOfWork, *, lead: Lead, profile: SiteProfile) -> None:
    """Write an extracted profile onto the lead: fields, contacts and evidence, without duplicates."""
    if profile.name and (not lead.name or lead.name == lead.domain):
        lead.name = profile.name[:300]
    if profile.description and not lead.summary:
        lead.summary = profile.description
    if profile.address:
        lead.location = profile.address[:300]
    if profile.country:
        lead.country = profile.country[:2]
    if profile.city:
        lead.city = profile.city[:120]
    if profile.opening_hours:
        lead.opening_hours = profile.opening_hours
    lead.tech = list(profile.tech)
    for fact in profile.evidence:
        kind = _contact_kind(fact.field)
        if kind:
            upsert_contact(
                uow,
                lead=lead,
                kind=kind,
                value=fact.value,
                label=fact.field.split(":", 1)[-1] if kind == "social" else "",
            )
    for person in profile.people:
        add_person(uow, lead=lead, name=person["name"], title=person["title"] or person["role"], email=person["email"])
    uow.flush()
    add_evidence(uow, lead=lead, facts=profile.evidence)


def add_person(uow: UnitOfWork, *, lead: Lead, name: str, title: str, email: str = "") -> Contact:
    """A person the site names becomes a contact: their email when the page shows one, else a name-only contact.

    Name-only contacts (kind ``person``) are never picked for sending; they let the lead detail and the CSV export
    show who runs the company. A person seen before without an email keeps one contact once an email shows."""
    name = " ".join(name.split())
    if email:
        contact = upsert_contact(uow, lead=lead, kind="email", value=email)
        uow.flush()
        named = uow.session.scalar(
            select(Contact).where(
                Contact.lead_id == lead.id, Contact.kind == "person", Contact.normalised_value == _person_key(name)
            )
        )
        if named is not None:
            uow.session.delete(named)
    else:
        contact = upsert_contact(uow, lead=lead, kind="person", value=name)
    if not contact.person_name:
        contact.person_name = name[:200]
    if not contact.person_title:
        contact.person_title = title[:200]
    return contact


def _person_key(name: str) -> str:
    return " ".join(name.split()).lower()[:1024]


MAX_BULK = 100_000


def lead_or_raise(uow: UnitOfWork, actor: Actor, lead_id: int) -> Lead:
    """The actor's workspace's lead; ``NotFound`` for a missing lead or another workspace's."""
    lead = uow.session.get(Lead, lead_id)
    if lead is None or lead.workspace_id != actor.workspace_id or lead.deleted_at is not None:
        raise NotFound(f"Lead {lead_id} does not exist in this workspace (or is in the trash).")
    return lead


def owned_lead_ids(uow: UnitOfWork, actor: Actor, lead_ids: list[int]) -> list[int]:
    """The ids among ``lead_ids`` that are leads of the actor's workspace, sorted."""
    if len(lead_ids) > MAX_BULK:
        raise InvalidInput(f"Select at most {MAX_BULK} leads at a time.")
    if not lead_ids:
        return []
    found: list[int] = []
    for start in range(0, len(lead_ids), 5000):
        chunk = lead_ids[start : start + 5000]
        found.extend(
            uow.session.scalars(
                select(Lead.id).where(
                    Lead.workspace_id == actor.workspace_id, Lead.deleted_at.is_(None), Lead.id.in_(chunk)
                )
            )
        )
    return sorted(found)
