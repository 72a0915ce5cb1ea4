"""What a template may use about a lead: plain values built from the lead, contact and evidence."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Contact, Evidence, Lead

HOOK_FIELDS = ("recent_post", "post", "blog_post", "hook", "news")


def lead_values(session: Session, *, lead: Lead, contact: Contact | None, sender_name: str = "") -> dict[str, str]:
    """Template values for one lead; empty strings mark missing fields."""
    hook = session.scalar(
        select(Evidence.value)
        .where(Evidence.lead_id == lead.id, Evidence.field.in_(HOOK_FIELDS))
        .order_by(Evidence.created_at.desc(), Evidence.id.desc())
        .limit(1)
    )
    person = (contact.person_name if contact else "") or ""
    return {
        "company": lead.name or "",
        "website": lead.website or "",
        "domain": lead.domain or "",
        "industry": lead.industry or "",
        "location": lead.location or "",
        "country": lead.country or "",
        "summary": lead.summary or "",
        "first_name": person.split()[0] if person.strip() else "",
        "contact_name": person,
        "contact_title": (contact.person_title if contact else "") or "",
        "hook": hook or "",
        "technologies": ", ".join(lead.tech or []),
        "sender_name": sender_name,
    }


def pick_contact(session: Session, *, lead: Lead, channel: str) -> Contact | None:
    """The best contact of a lead for a channel: a verified named person before a role address."""
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
    contacts.sort(key=lambda c: (c.is_role_address, rank.get(c.verification, 3), c.id))
    return contacts[0] if contacts else None
