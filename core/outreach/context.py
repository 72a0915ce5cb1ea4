"""What a template may use about a lead: plain values built from the lead, contact and evidence."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Contact, Evidence, Lead
from core.extract.people import normalise_role

HOOK_FIELDS = ("recent_post", "post", "blog_post", "hook", "news")


def lead_values(session: Session, *, lead: Lead, contact: Contact | None, sender_name: str = "") -> dict[str, str]:
    """Template values for one lead; empty strings mark missing fields."""
    hook = session.scalar(
        select(Evidence.value)
        .where(Evidence.lead_id == lead.id, Evidence.field.in_(HOOK_FIELDS))
        .order_by(Evidence.created_at.desc(), Evidence.id.desc())
        .limit(1)
    )
    person = " ".join(((contact.person_name if contact else "") or "").split())
    title = (contact.person_title if contact else "") or ""
    return {
        "company": lead.name or "",
        "website": lead.website or "",
        "domain": lead.domain or "",
        "industry": lead.industry or "",
        "location": lead.location or "",
        "country": lead.country or "",
        "summary": lead.summary or "",
        "first_name": _first_name(person),
        "contact_name": person,
        "contact_title": title,
        "contact_first_name": _first_name(person),
        "contact_last_name": person.split()[-1] if len(person.split()) > 1 else "",
        "contact_role": normalise_role(title) if title else "",
        "hook": hook or "",
        "technologies": ", ".join(lead.tech or []),
        "sender_name": sender_name,
    }


_HONORIFICS = frozenset(
    {"dr.", "prof.", "mag.", "ing.", "dipl.-ing.", "mr.", "mrs.", "ms.", "herr", "frau", "m.", "mme"}
)


def _first_name(person: str) -> str:
    """'Dr. Hans-Peter Müller' -> 'Hans-Peter' (titles are not first names)."""
    words = person.split()
    kept = [w for w in words if w.lower() not in _HONORIFICS]
    if not kept or (len(kept) == 1 and len(words) > 1):  # "Dr. Müller": a surname, not a first name
        return ""
    return kept[0]


def pick_contact(session: Session, *, lead: Lead, channel: str) -> Contact | None:
    """The best contact of a lead for a channel: a named person with that address first, then a personal
    address, then a role address (info@); verified before unknown before risky, never an invalid one."""
    kind = "email" if channel == "email" else "phone"
    contacts = list(
        session.scalars(
            select(Contact).where(
                Contact.lead_id == lead.id,
                Contact.workspace_id == lead.workspace_id,
                Contact.kind == kind,
                Contact.verification != "invalid",
            )
        )
    )
    rank: dict[str, Any] = {"valid": 0, "unknown": 1, "risky": 2}
    contacts.sort(key=lambda c: (not c.person_name, c.is_role_address, rank.get(c.verification, 3), c.id))
    return contacts[0] if contacts else None
