"""Issue 18 item 18: a member cannot delete the team's leads; deleting moves a lead to the trash, which owners
and admins restore for 30 days; a trashed lead is out of every list, count, search, export, the API and
outreach; the message log keeps a deleted lead's sent message, before and after the purge."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from core.apikeys import service as apikeys
from core.auth import service as auth
from core.auth import team
from core.db import UnitOfWork
from core.db.models import Lead, LeadTombstone, Message, utcnow
from core.errors import NotFound, PermissionDenied
from core.leads import csv_export, insights, trash
from core.leads import query as lead_query
from core.leads import service as leads
from core.leads.repository import upsert_lead
from core.outreach import message_log, sender
from core.outreach import service as outreach
from tests.conftest import unique
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for

EVERYTHING = lead_query.LeadFilter()


@pytest.fixture
def crew(owner):
    """An owner with an admin and a member in one workspace, ready to send from the outbox."""
    configure_workspace(owner)
    ids = {
        role: team.add_member(actor=owner, email=f"{unique(role)}@example.test", role=role)
        for role in ("admin", "member")
    }
    return {
        "owner": owner,
        **{role: auth.actor_for(user_id=i, workspace_id=owner.workspace_id) for role, i in ids.items()},
    }


def sent_lead(actor, name: str) -> tuple[int, int]:
    """A lead with one message really sent through the outbox (so it is now contacted): (lead id, message id)."""
    lead_id = make_lead(actor, email=f"{unique('to')}@example.test", name=name)
    [message_id] = draft_and_queue(actor, [lead_id])
    sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(provider="outbox"))
    assert message_log.get_message_or_raise(actor=actor, message_id=message_id).status == "sent"
    return lead_id, message_id


def visible_ids(actor) -> set[int]:
    return {row.id for row in lead_query.list_leads(actor=actor, flt=EVERYTHING).rows}


def test_a_member_cannot_delete_the_owners_lead_and_it_stays_with_its_message(crew):
    owner, member = crew["owner"], crew["member"]
    lead_id, message_id = sent_lead(owner, "Owner Bakery")

    with pytest.raises(PermissionDenied, match="needs the admin role"):
        leads.delete_leads(actor=member, lead_ids=[lead_id])

    assert lead_id in visible_ids(member)
    assert leads.get_lead_detail_or_raise(actor=owner, lead_id=lead_id).status == "contacted"
    assert [m.id for m in message_log.list_messages(actor=owner, lead_id=lead_id)] == [message_id]


def test_a_deleted_lead_leaves_every_view_but_its_sent_message_stays_in_the_log_and_restore_brings_it_back(crew):
    owner, admin, member = crew["owner"], crew["admin"], crew["member"]
    lead_id, message_id = sent_lead(owner, "Trash Bakery")
    other = make_lead(owner, email=f"{unique('k')}@example.test", name="Kept Bakery")
    key = apikeys.create_api_key(actor=owner, name="t", scopes="read,write").key
    counted = lead_query.count_leads(actor=owner, flt=EVERYTHING)
    funnel = dict(insights.get_insights(actor=owner).funnel)["contacted"]

    assert leads.delete_leads(actor=admin, lead_ids=[lead_id]) == 1

    assert visible_ids(owner) == {other}
    assert lead_query.count_leads(actor=owner, flt=EVERYTHING) == counted - 1
    assert lead_query.count_leads(actor=owner, flt=lead_query.LeadFilter(text="Trash Bakery")) == 0
    assert dict(insights.get_insights(actor=owner).funnel)["contacted"] == funnel - 1
    exported = list(csv.DictReader(io.StringIO(csv_export.export_csv(actor=owner, flt=EVERYTHING).decode())))
    assert [row["company"] for row in exported] == ["Kept Bakery"]
    with pytest.raises(NotFound):
        leads.get_lead_detail_or_raise(actor=owner, lead_id=lead_id)
    assert lead_id not in {i for i, _n, _s in outreach.leads_for_outreach(actor=owner)}
    with TestClient(create_app()) as client:
        headers = {"Authorization": f"Bearer {key}"}
        assert client.get(f"/api/v1/leads/{lead_id}", headers=headers).status_code == 404
        assert lead_id not in [row["id"] for row in client.get("/api/v1/leads", headers=headers).json()["data"]]
    # the message log never loses a sent message
    [logged] = message_log.list_messages(actor=owner, lead_id=lead_id)
    assert (logged.id, logged.status, logged.lead_name) == (message_id, "sent", "Trash Bakery")
    # the trash: owners and admins, keyed by lead id
    with pytest.raises(PermissionDenied):
        trash.list_trash(actor=member)
    with pytest.raises(PermissionDenied):
        trash.restore_leads(actor=member, lead_ids=[lead_id])
    [trashed] = trash.list_trash(actor=owner)
    assert (trashed.id, trashed.name, trashed.deleted_by) == (lead_id, "Trash Bakery", admin.email)
    assert trashed.restorable_until - trashed.deleted_at == timedelta(days=30)

    assert trash.restore_leads(actor=owner, lead_ids=[lead_id]) == 1

    assert visible_ids(owner) == {lead_id, other}
    assert leads.get_lead_detail_or_raise(actor=owner, lead_id=lead_id).status == "contacted"
    assert trash.list_trash(actor=admin) == []
    with UnitOfWork() as uow:  # its domain may be found again by a crawl or an import
        lead = uow.session.get(Lead, lead_id)
        assert lead is not None
        assert upsert_lead(uow, workspace_id=owner.workspace_id, domain=lead.domain, website="")[0] is not None


def test_a_queued_message_to_a_trashed_lead_is_not_sent(crew):
    owner = crew["owner"]
    lead_id = make_lead(owner, email=f"{unique('q')}@example.test", name="Queued Bakery")
    [message_id] = draft_and_queue(owner, [lead_id])
    leads.delete_leads(actor=owner, lead_ids=[lead_id])

    sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(provider="outbox"))

    message = message_log.get_message_or_raise(actor=owner, message_id=message_id)
    assert message.status != "sent" and "trash" in message.error


def test_after_30_days_the_purge_removes_trashed_leads_but_keeps_what_the_log_needs(crew):
    owner = crew["owner"]
    sent_id, message_id = sent_lead(owner, "Old Sent Bakery")
    quiet = make_lead(owner, email=f"{unique('o')}@example.test", name="Old Quiet Bakery")
    recent = make_lead(owner, email=f"{unique('r')}@example.test", name="Recent Bakery")
    leads.delete_leads(actor=owner, lead_ids=[sent_id, quiet, recent])
    with UnitOfWork() as uow:
        long_ago = utcnow() - timedelta(days=31)
        uow.session.execute(update(Lead).where(Lead.id.in_([sent_id, quiet])).values(deleted_at=long_ago))
        uow.commit()

    assert [t.id for t in trash.list_trash(actor=owner)] == [recent]  # opening the trash purges first
    assert trash.restore_leads(actor=owner, lead_ids=[sent_id, quiet]) == 0

    with UnitOfWork() as uow:
        assert uow.session.get(Lead, quiet) is None
        kept = uow.session.get(Lead, sent_id)
        assert kept is not None and kept.deleted_at is not None
        assert uow.session.scalar(select(Message.status).where(Message.id == message_id)) == "sent"
        tombstoned = set(
            uow.session.scalars(select(LeadTombstone.domain).where(LeadTombstone.workspace_id == owner.workspace_id))
        )
        assert kept.domain in tombstoned  # a purged lead's domain still never comes back by itself
    assert [m.id for m in message_log.list_messages(actor=owner, lead_id=sent_id)] == [message_id]
    assert visible_ids(owner) == set()
