"""A line break in a contact's name (header injection) is refused with its reason, never left `unknown`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import UnitOfWork
from core.db.models import Contact, Message
from core.outreach import sender, service
from tests.conftest import unique
from tests.fixtures.outreach_data import TEMPLATE_BODY, configure_workspace, draft_and_queue, make_lead, settings_for
from tests.fixtures.outreach_servers import SMTPServer

HOSTILE_NAME = "Ada\r\nBcc: victim@example.test"


@pytest.fixture
def actor(owner):
    configure_workspace(owner)
    return owner


def test_drafting_refuses_a_contact_whose_name_has_a_line_break(actor):
    lead_id = make_lead(actor, email=f"{unique('ada')}@example.test", person=HOSTILE_NAME)
    template_id = service.save_template(
        actor=actor, name=unique("tpl"), channel="email", subject="Hello from Sam", body=TEMPLATE_BODY
    )
    outcome = service.create_drafts(actor=actor, template_id=template_id, lead_ids=[lead_id])
    assert outcome.created == ()
    assert [(lead, "line break" in reason) for lead, reason in outcome.skipped] == [(lead_id, True)]
    with UnitOfWork() as uow:
        assert uow.session.scalars(select(Message).where(Message.lead_id == lead_id)).all() == []


def test_a_queued_message_whose_contact_name_gained_a_line_break_ends_failed_with_the_reason(actor):
    lead_id = make_lead(actor, email=f"{unique('ada')}@example.test")
    [message_id] = draft_and_queue(actor, [lead_id])
    with UnitOfWork() as uow:  # the name changes after drafting (an edit or an import)
        contact = uow.session.scalar(select(Contact).where(Contact.lead_id == lead_id))
        contact.person_name = HOSTILE_NAME
        uow.commit()
    with SMTPServer() as smtp:
        summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(smtp_port=smtp.port))
        assert smtp.envelopes == []
    assert (summary.failed, summary.unknown) == (1, 0)
    with UnitOfWork() as uow:
        message = uow.session.get(Message, message_id)
        assert message.status == "failed"
        assert "recipient name must be a single line" in message.error
