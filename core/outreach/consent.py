"""SMS consent per contact: when the number's owner agreed to texts and where that was recorded.

The sender refuses an SMS to a number without recorded consent (``claim._refusal``) unless the
workspace switched the rule off; the send confirmation lists such numbers first (``preflight``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.actor import Actor
from core.audit import audit
from core.db import UnitOfWork
from core.db.models import Contact, utcnow
from core.errors import InvalidInput, NotFound
from core.outreach.templates import refuse_line_breaks

MAX_SOURCE = 200


@dataclass(frozen=True)
class ConsentView:
    """A phone contact's SMS consent as the page shows it."""

    contact_id: int
    number: str
    given_at: datetime | None
    source: str


def checked_source(source: str) -> str:
    """The consent source trimmed; ``InvalidInput`` when it is empty, too long or has a line break."""
    source = refuse_line_breaks("consent source", source.strip())
    if not source:
        raise InvalidInput("Say where the consent comes from (e.g. 'web form 2026-03-01', 'signed order').")
    if len(source) > MAX_SOURCE:
        raise InvalidInput(f"The consent source is longer than {MAX_SOURCE} characters.")
    return source


def record_sms_consent(
    *,
    actor: Actor,
    contact_id: int,
    given: bool,
    source: str = "",
    at: datetime | None = None,
    uow: UnitOfWork | None = None,
) -> ConsentView:
    """Record (with its source and time) or withdraw a phone number's SMS consent; audited."""
    actor.require_permission("consent.record")
    source = checked_source(source) if given else ""
    uow = uow or UnitOfWork()
    with uow:
        contact = uow.session.get(Contact, contact_id)
        if contact is None or contact.workspace_id != actor.workspace_id or contact.kind != "phone":
            raise NotFound("That phone number does not exist in this workspace.")
        contact.sms_consent_at = (at or utcnow()) if given else None
        contact.sms_consent_source = source
        audit(
            uow,
            "contact.sms_consent_recorded" if given else "contact.sms_consent_withdrawn",
            actor=actor,
            target_type="contact",
            target_id=contact.id,
            detail={"source": source} if given else {},
        )
        view = ConsentView(contact_id=contact.id, number=contact.value, given_at=contact.sms_consent_at, source=source)
        uow.commit()
    return view
