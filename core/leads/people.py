"""The people a lead's site names, as the lead detail shows them: name, role, title, email and evidence."""

from __future__ import annotations

from core.extract.people import normalise_role
from core.leads.models import ContactView, EvidenceView, PersonView


def person_role(title: str) -> str:
    """The normalised role of a title as written ('Geschäftsführerin' -> 'managing director'), or ''."""
    return normalise_role(title) if title else ""


def people_of(contacts: tuple[ContactView, ...], evidence: tuple[EvidenceView, ...]) -> tuple[PersonView, ...]:
    """Each named contact once (an email contact before a name-only one), with the page that shows the person."""
    shown: dict[str, EvidenceView] = {}
    for row in evidence:
        if row.field == "person":
            shown.setdefault(row.value.rsplit(" (", 1)[0].strip().lower(), row)
    people: dict[str, PersonView] = {}
    for contact in sorted(contacts, key=lambda c: (c.kind != "email", c.id)):
        name = contact.person_name.strip()
        if not name or name.lower() in people or contact.kind not in ("email", "person", "phone"):
            continue
        proof = shown.get(name.lower())
        people[name.lower()] = PersonView(
            contact_id=contact.id,
            name=name,
            role=person_role(contact.person_title),
            title=contact.person_title,
            email=contact.value if contact.kind == "email" else "",
            source_url=proof.source_url if proof else "",
            snippet=proof.snippet if proof else "",
        )
    return tuple(people.values())
