"""The message log per lead: every message across channels and steps, each with its status history."""

from __future__ import annotations

import pytest

from core.outreach import message_log, sender, service
from tests.conftest import make_owner, unique
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for


@pytest.fixture
def actor(owner):
    configure_workspace(owner)
    return owner


def test_a_leads_history_holds_every_message_with_its_events_in_time_order(actor):
    lead = make_lead(actor, email=f"{unique('h')}@example.test", phone="+4915100000777", name="History Bakery")
    elsewhere = make_lead(actor, email=f"{unique('e')}@example.test", name="Elsewhere Bakery")
    [email] = draft_and_queue(actor, [lead])
    [sms] = draft_and_queue(actor, [lead], channel="sms", body="Hi {{ company }}")
    draft_and_queue(actor, [elsewhere])
    sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(provider="outbox"))
    message_log.mark_replied(actor=actor, message_id=email)
    follow_up = service.save_template(actor=actor, name=unique("tpl"), channel="email", subject="Again", body="Hi again")
    [second] = service.create_drafts(actor=actor, template_id=follow_up, lead_ids=[lead], step=2).created

    history = message_log.lead_history(actor=actor, lead_id=lead)

    assert [(h.message.id, h.message.channel, h.message.step) for h in history] == [
        (email, "email", 1), (sms, "sms", 1), (second, "email", 2)]
    assert {h.message.lead_name for h in history} == {"History Bakery"}
    assert [e.status for e in history[0].events] == ["approved", "queued", "sending", "sent", "replied"]
    assert [e.status for e in history[1].events] == ["approved", "queued", "sending", "sent"]
    assert history[2].events == () and history[2].message.status == "draft"
    for item in history:
        times = [e.created_at for e in item.events]
        assert times == sorted(times)
    # most recently messaged first: the step 2 draft is newer than the other lead's message
    assert message_log.leads_with_messages(actor=actor) == [(lead, "History Bakery"), (elsewhere, "Elsewhere Bakery")]


def test_another_workspaces_lead_shows_nothing(actor):
    lead = make_lead(actor, email=f"{unique('w')}@example.test")
    draft_and_queue(actor, [lead])
    stranger = make_owner()

    assert message_log.lead_history(actor=stranger, lead_id=lead) == []
    assert message_log.leads_with_messages(actor=stranger, include=lead) == []
    mine = message_log.leads_with_messages(actor=actor, include=lead)
    assert [lead_id for lead_id, _ in mine] == [lead]


def test_a_lead_without_messages_can_be_included_and_has_an_empty_history(actor):
    quiet = make_lead(actor, email=f"{unique('q')}@example.test", name="Quiet Bakery")
    assert message_log.leads_with_messages(actor=actor, include=quiet) == [(quiet, "Quiet Bakery")]
    assert message_log.lead_history(actor=actor, lead_id=quiet) == []
