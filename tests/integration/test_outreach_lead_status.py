"""Issue 18 item 11: a send makes the lead ``contacted``, an unsubscribe ``do_not_contact``, and the .eml
export is dated when the message was sent."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from sqlalchemy import select, update

from core.db import UnitOfWork
from core.db.models import Lead, Message
from core.outreach import message_log, sender
from core.outreach.suppression import unsubscribe_by_link
from tests.conftest import unique
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for


def lead_status(lead_id: int) -> str:
    with UnitOfWork() as uow:
        return uow.session.scalars(select(Lead.status).where(Lead.id == lead_id)).one()


def set_status(lead_id: int, status: str) -> None:
    with UnitOfWork() as uow:
        uow.session.execute(update(Lead).where(Lead.id == lead_id).values(status=status))
        uow.commit()


def test_sending_through_the_default_outbox_marks_the_lead_contacted_but_never_downgrades(owner):
    """Failed before: the default channel (outbox) left the lead ``qualified``."""
    configure_workspace(owner)
    fresh = make_lead(owner, email=f"{unique('ada')}@example.test")
    won = make_lead(owner, email=f"{unique('won')}@example.test")
    ids = draft_and_queue(owner, [fresh, won])
    set_status(won, "won")
    summary = sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(provider="outbox"))
    assert summary.sent == 2
    assert (lead_status(fresh), lead_status(won)) == ("contacted", "won")
    assert len(ids) == 2


def test_one_click_unsubscribe_marks_the_contacts_lead_do_not_contact(owner):
    """Failed before: the address was suppressed but its lead stayed ``qualified``."""
    address = f"{unique('Bob')}@Example.test"
    lead = make_lead(owner, email=address)
    other = make_lead(owner, email=f"{unique('carol')}@example.test")
    assert unsubscribe_by_link(workspace_id=owner.workspace_id, channel="email", address=address.upper())
    assert (lead_status(lead), lead_status(other)) == ("do_not_contact", "qualified")


def test_eml_export_is_dated_when_the_message_was_sent(owner):
    """Failed before: the Date header was the time of the download."""
    configure_workspace(owner)
    lead = make_lead(owner, email=f"{unique('dora')}@example.test")
    (message_id,) = draft_and_queue(owner, [lead])
    sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(provider="outbox"))
    sent_at = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)
    with UnitOfWork() as uow:
        uow.session.execute(update(Message).where(Message.id == message_id).values(sent_at=sent_at))
        uow.commit()
    parsed = email.message_from_bytes(message_log.export_eml(actor=owner, message_id=message_id))
    assert parsedate_to_datetime(parsed["Date"]) == sent_at
