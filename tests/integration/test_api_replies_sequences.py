"""The Inbox and the Sequences page through the REST API: what the pages do, a script can do (issue 15's
"everything the pages do", for the pages issue 16 added). Mail is sent over real SMTP (aiosmtpd) first."""

from __future__ import annotations

import email
import email.policy

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from core.apikeys import service as apikeys
from core.background.runners import current_runner
from core.outreach import sender
from core.outreach import service as outreach
from core.replies.service import record_raw_mail
from tests.conftest import unique
from tests.fixtures.held_queue import HeldQueue
from tests.fixtures.outreach_data import make_lead, settings_for
from tests.fixtures.outreach_servers import SMTPServer
from tests.integration.test_replies import reply_to, sent_world


@pytest.fixture
def client():
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def held_jobs():
    """Send jobs are recorded and run by the test with settings pointed at its SMTP server."""
    token = current_runner.set(HeldQueue())
    yield
    current_runner.reset(token)


def key_for(actor, scopes: str = "read,write,send") -> dict[str, str]:
    made = apikeys.create_api_key(actor=actor, name=unique("k"), scopes=scopes)
    return {"Authorization": f"Bearer {made.key}"}


def test_replies_are_listed_relabelled_acted_on_and_answered_once(owner, client):
    _, addresses, leads, _, sent = sent_world(owner, 2)
    record_raw_mail(raw=reply_to(sent[0], "Who gave you my address?"), source="imap", fallback_key=unique("k"))
    record_raw_mail(raw=reply_to(sent[1], "Sounds good, send prices."), source="imap", fallback_key=unique("k"))
    headers = key_for(owner)

    listed = client.get("/api/v1/replies", params={"label": ["interested", "other"]}, headers=headers)
    assert listed.status_code == 200
    by_address = {r["from_address"]: r for r in listed.json()}
    assert {by_address[a]["label"] for a in addresses} == {"other", "interested"}
    first, second = by_address[addresses[0]], by_address[addresses[1]]
    assert (first["lead_id"], first["label_source"], first["answer_message_id"]) == (leads[0], "rules", None)

    relabelled = client.patch(f"/api/v1/replies/{first['id']}", json={"label": "not_now"}, headers=headers)
    assert relabelled.status_code == 200
    assert (relabelled.json()["label"], relabelled.json()["label_source"]) == ("not_now", "user")
    acted = client.post(f"/api/v1/replies/{first['id']}/actions", json={"action": "meeting"}, headers=headers)
    assert acted.status_code == 200 and acted.json()["handled_at"] is not None
    assert client.get(f"/api/v1/leads/{leads[0]}", headers=headers).json()["status"] == "meeting"
    unknown = client.post(f"/api/v1/replies/{first['id']}/actions", json={"action": "celebrate"}, headers=headers)
    assert unknown.status_code == 422

    answered = client.post(f"/api/v1/replies/{second['id']}/answer", json={"body": "49 EUR a month."},
                           headers=headers)
    assert answered.status_code == 202 and answered.json()["status"] == "queued"
    again = client.post(f"/api/v1/replies/{second['id']}/answer", json={"body": "49 EUR a month."}, headers=headers)
    assert again.status_code == 422 and "answered already" in again.json()["detail"]
    with SMTPServer() as smtp:
        sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(smtp_port=smtp.port))
        (envelope,) = smtp.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert envelope.rcpt_tos == [addresses[1]] and mail["In-Reply-To"].startswith("<r")
    shown = client.get(f"/api/v1/replies/{second['id']}", headers=headers).json()
    assert (shown["answer_message_id"], shown["answer_status"]) == (answered.json()["message_id"], "sent")

    read_only = key_for(owner, "read,write")  # answering sends mail: the send scope
    refused = client.post(f"/api/v1/replies/{second['id']}/answer", json={"body": "x"}, headers=read_only)
    assert refused.status_code == 403


def test_a_sequence_is_made_enrolled_paused_and_counted_over_the_api(owner, client):
    headers = key_for(owner)
    template = outreach.save_template(actor=owner, name=unique("t"), channel="email", subject="Hello {{ company }}",
                                      body="Hi {{ company }}, a note.")
    with_address = make_lead(owner, email=f"{unique('ada')}@customer.example")
    without = make_lead(owner)  # no address: skipped, and said why
    made = client.post("/api/v1/sequences", headers=headers, json={
        "name": "Spring", "steps": [{"channel": "email", "template_id": template},
                                    {"channel": "email", "template_id": template, "delay_days": 3.0}]})
    assert made.status_code == 201, made.text
    sequence = made.json()
    assert [s["delay_days"] for s in sequence["steps"]] == [0, 3] and sequence["status"] == "active"

    preview = client.post(f"/api/v1/sequences/{sequence['id']}/enrollments", headers=headers,
                          json={"lead_ids": [with_address, without], "dry_run": True})
    assert preview.json() == {"enrolled": [with_address],
                              "skipped": [{"lead_id": without, "reason": "no usable email address"}]}
    assert client.get(f"/api/v1/sequences/{sequence['id']}/enrollments", headers=headers).json() == []
    enrolled = client.post(f"/api/v1/sequences/{sequence['id']}/enrollments", headers=headers,
                           json={"lead_ids": [with_address, without]})
    assert enrolled.json()["enrolled"] == [with_address]
    (contact,) = client.get(f"/api/v1/sequences/{sequence['id']}/enrollments", headers=headers).json()
    assert (contact["lead_id"], contact["status"], contact["next_position"]) == (with_address, "active", 1)

    paused = client.post(f"/api/v1/enrollments/{contact['id']}/status", json={"status": "paused"}, headers=headers)
    assert paused.status_code == 204
    assert client.get(f"/api/v1/sequences/{sequence['id']}", headers=headers).json()["counts"]["paused"] == 1
    whole = client.post(f"/api/v1/sequences/{sequence['id']}/status", json={"status": "paused"}, headers=headers)
    assert whole.json()["status"] == "paused"
    assert client.delete(f"/api/v1/enrollments/{contact['id']}", headers=headers).status_code == 204
    (left,) = client.get(f"/api/v1/sequences/{sequence['id']}/enrollments", headers=headers).json()
    assert (left["status"], left["reason"]) == ("left", "manual")
    funnel = client.get(f"/api/v1/sequences/{sequence['id']}/funnel", headers=headers).json()
    assert [(row["position"], row["sent"]) for row in funnel] == [(1, 0), (2, 0)]

    bad = client.post("/api/v1/sequences", headers=headers, json={"name": "Spring", "steps": [
        {"channel": "email", "template_id": template}]})
    assert bad.status_code == 422 and "already exists" in bad.json()["detail"]
