"""Webhooks out: signed per Standard Webhooks (verified by the reference library at a local receiver),
retried with backoff then marked failing, redelivered by hand, claimed again after a killed worker,
SSRF-guarded, and kept to their workspace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from api.app import create_app
from core.background import runners
from core.background.kinds import WEBHOOKS_DELIVER
from core.config import PROJECT_ROOT, get_settings
from core.db import UnitOfWork
from core.db.models import AuditEvent, Job, WebhookDelivery
from core.errors import InvalidInput
from core.leads import csv_import
from core.leads import service as leads
from core.outreach import message_log, sender, suppression
from core.webhooks import service as webhooks
from core.webhooks.delivery import deliver_due
from tests.conftest import make_owner, unique
from tests.fixtures.api_data import seeded_workspace
from tests.fixtures.held_queue import HeldQueue
from tests.fixtures.leads_data import make_lead
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, settings_for
from tests.fixtures.outreach_data import make_lead as make_contactable_lead
from tests.fixtures.outreach_servers import SMTPServer
from tests.fixtures.webhook_receiver import WebhookReceiver


def allow_loopback(monkeypatch, port: int) -> None:
    """What the crawl tests do to reach local servers: the SSRF policy's own exceptions."""
    monkeypatch.setenv("CRAWL_ALLOW_PRIVATE", "127.0.0.1/32")
    monkeypatch.setenv("CRAWL_ALLOWED_PORTS", f"80,443,{port}")
    get_settings.cache_clear()


@pytest.fixture
def receiver(monkeypatch):
    with WebhookReceiver() as state:
        allow_loopback(monkeypatch, state.port)
        yield state
    get_settings.cache_clear()


@pytest.fixture
def embedded():
    """Jobs run in this process's thread pool (also when REDIS_URL is set for the PostgreSQL run)."""
    runner = runners.EmbeddedRunner(get_settings())
    token = runners.current_runner.set(runner)
    yield runner
    runners.current_runner.reset(token)
    runner.shutdown()


@pytest.fixture
def held():
    token = runners.current_runner.set(HeldQueue())
    yield
    runners.current_runner.reset(token)


def register(actor, receiver, events=("lead.qualified",)):
    created = webhooks.create_endpoint(actor=actor, url=receiver.url, events=list(events), description="CRM")
    receiver.secret = created.secret
    return created


def deliveries(actor, endpoint_id=None):
    return webhooks.list_deliveries(actor=actor, endpoint_id=endpoint_id)


def wait_until(check, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def qualify(actor) -> int:
    lead_id = make_lead(actor, f"{unique('co')}.example.test", name="Bakery Ltd")
    leads.update_lead(actor=actor, lead_id=lead_id, status="qualified", owner_id=None, tags=[], notes="")
    return lead_id


def test_a_delivery_is_signed_so_the_reference_verifier_accepts_it(owner, receiver, embedded):
    endpoint = register(owner, receiver)
    assert endpoint.secret.startswith("whsec_")
    lead_id = qualify(owner)
    [done] = wait_until(lambda: [d for d in deliveries(owner) if d.status == "succeeded"], "the delivery")
    [request] = receiver.requests
    assert request.verified, request.error
    payload = json.loads(request.body)
    assert payload["type"] == "lead.qualified" and payload["data"]["id"] == lead_id
    assert payload["data"]["status"] == "qualified" and payload["timestamp"].endswith("Z")
    assert request.headers["webhook-id"] == done.message_id
    assert request.headers["webhook-signature"].startswith("v1,")
    detail = webhooks.get_delivery_or_raise(actor=owner, delivery_id=done.id)
    assert [(a.status_code, a.manual) for a in detail.log] == [(200, False)]


def test_a_request_checked_with_another_endpoints_secret_fails_the_reference_verification(owner, receiver, embedded):
    register(owner, receiver)
    receiver.secret = webhooks.create_endpoint(
        actor=owner, url=receiver.url, events=["run.finished"], description="other"
    ).secret  # the receiver now checks with the wrong endpoint's secret
    qualify(owner)
    wait_until(lambda: receiver.requests, "the request")
    assert not receiver.requests[0].verified
    assert "signature" in receiver.requests[0].error.lower()


def test_a_failing_endpoint_is_retried_then_marked_failing_and_redelivery_by_hand_recovers_it(
    owner, receiver, monkeypatch, embedded
):
    monkeypatch.setenv("WEBHOOK_RETRY_DELAYS", "[0, 0]")  # three attempts, no waiting: the job makes them all
    get_settings.cache_clear()
    endpoint = register(owner, receiver)
    receiver.status = 500
    qualify(owner)
    [failed] = wait_until(lambda: [d for d in deliveries(owner) if d.status == "failed"], "the delivery to fail")
    detail = webhooks.get_delivery_or_raise(actor=owner, delivery_id=failed.id)
    assert [a.status_code for a in detail.log] == [500, 500, 500] and detail.attempts == 3
    assert {r.headers["webhook-id"] for r in receiver.requests} == {failed.message_id}
    assert len(receiver.requests) == 3 and all(r.verified for r in receiver.requests)
    view = webhooks.get_endpoint_or_raise(actor=owner, endpoint_id=endpoint.id)
    assert view.status == "failing" and view.failing_since is not None

    receiver.status = 200
    webhooks.redeliver(actor=owner, delivery_id=failed.id)
    wait_until(
        lambda: webhooks.get_delivery_or_raise(actor=owner, delivery_id=failed.id).status == "succeeded", "redelivery"
    )
    detail = webhooks.get_delivery_or_raise(actor=owner, delivery_id=failed.id)
    assert [(a.status_code, a.manual) for a in detail.log][-1] == (200, True)
    assert webhooks.get_endpoint_or_raise(actor=owner, endpoint_id=endpoint.id).status == "active"
    assert receiver.requests[-1].headers["webhook-id"] == failed.message_id
    with UnitOfWork() as uow:
        actions = set(
            uow.session.scalars(select(AuditEvent.action).where(AuditEvent.workspace_id == owner.workspace_id))
        )
    assert {"webhook_endpoint.created", "webhook_delivery.redelivered"} <= actions


def test_retries_follow_the_backoff_schedule_and_stop_after_the_last(owner, receiver, held):
    endpoint = register(owner, receiver)
    receiver.status = 503
    qualify(owner)
    [pending] = deliveries(owner)
    now = pending.next_attempt_at
    delays = get_settings().webhook_retry_delays
    for attempt, delay in enumerate(delays, start=1):
        assert deliver_due(now=now, workspace_id=owner.workspace_id).retrying == 1
        view = webhooks.get_delivery_or_raise(actor=owner, delivery_id=pending.id)
        assert view.attempts == attempt and view.next_attempt_at == now + timedelta(seconds=delay)
        assert (
            deliver_due(now=now + timedelta(seconds=delay - 1), workspace_id=owner.workspace_id).claimed == 0
        )  # not due yet
        now += timedelta(seconds=delay)
    assert deliver_due(now=now, workspace_id=owner.workspace_id).failed == 1
    view = webhooks.get_delivery_or_raise(actor=owner, delivery_id=pending.id)
    assert view.status == "failed" and view.attempts == len(delays) + 1 and view.last_status_code == 503
    assert webhooks.get_endpoint_or_raise(actor=owner, endpoint_id=endpoint.id).status == "failing"
    assert len(receiver.requests) == len(delays) + 1


def test_nothing_is_lost_when_the_worker_is_killed_mid_delivery(owner, receiver, held):
    register(owner, receiver)
    receiver.hold = threading.Event()  # the receiver keeps the first request open
    qualify(owner)
    [pending] = deliveries(owner)
    with UnitOfWork() as uow:
        job_id = uow.session.scalar(
            select(func.max(Job.id)).where(Job.kind == WEBHOOKS_DELIVER.name, Job.status == "queued")
        )
    code = f"from core.background import execute_job; execute_job({job_id})"
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=dict(os.environ))
    try:
        assert receiver.arrived.wait(60), "the worker never reached the receiver"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
    with UnitOfWork() as uow:
        row = uow.session.get(WebhookDelivery, pending.id)
        claimed_until = row.claimed_until
        assert (row.status, row.attempts) == ("pending", 0) and claimed_until is not None
    assert (
        deliver_due(workspace_id=owner.workspace_id).claimed == 0
    )  # its claim still holds: no second worker sends it meanwhile
    receiver.hold.set()
    receiver.hold = None
    assert deliver_due(now=claimed_until + timedelta(seconds=1), workspace_id=owner.workspace_id).succeeded == 1
    view = webhooks.get_delivery_or_raise(actor=owner, delivery_id=pending.id)
    assert view.status == "succeeded" and view.attempts == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == [pending.message_id] * 2
    assert all(r.verified for r in receiver.requests)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://[::1]/hook",
        "http://0x7f.1/hook",
        "https://example.com:8443/hook",
        "file:///etc/passwd",
        "http://user:pass@example.com/hook",
    ],
)
def test_webhook_urls_follow_the_crawlers_ssrf_rules(owner, monkeypatch, url):
    monkeypatch.setenv("CRAWL_ALLOW_PRIVATE", "")
    monkeypatch.setenv("CRAWL_ALLOWED_PORTS", "80,443")
    get_settings.cache_clear()
    try:
        with pytest.raises(InvalidInput, match="cannot be used"):
            webhooks.create_endpoint(actor=owner, url=url, events=["lead.created"])
    finally:
        get_settings.cache_clear()
    assert webhooks.list_endpoints(actor=owner) == []


def test_a_url_that_became_private_is_refused_at_delivery_and_nothing_is_sent(owner, receiver, held, monkeypatch):
    register(owner, receiver)
    monkeypatch.setenv("CRAWL_ALLOW_PRIVATE", "")  # the exception is withdrawn after registration
    get_settings.cache_clear()
    qualify(owner)
    assert deliver_due(workspace_id=owner.workspace_id).retrying == 1
    [view] = deliveries(owner)
    detail = webhooks.get_delivery_or_raise(actor=owner, delivery_id=view.id)
    assert detail.log[0].status_code is None and "refused" in detail.log[0].error
    assert receiver.requests == []


def test_events_of_one_workspace_never_reach_another_workspaces_endpoint(owner, receiver, held):
    other = make_owner()
    theirs = webhooks.create_endpoint(actor=other, url=receiver.url, events=["lead.qualified"])
    register(owner, receiver)
    qualify(owner)
    assert len(deliveries(owner)) == 1
    assert deliveries(other) == [] and deliveries(other, theirs.id) == []
    [mine] = deliveries(owner)
    with pytest.raises(Exception, match="not found"):
        webhooks.get_delivery_or_raise(actor=other, delivery_id=mine.id)
    with pytest.raises(Exception, match="not found"):
        webhooks.redeliver(actor=other, delivery_id=mine.id)
    with pytest.raises(Exception, match="not found"):
        webhooks.delete_endpoint(actor=other, endpoint_id=mine.endpoint_id)


def test_every_event_is_emitted_where_it_happens(owner, receiver, held):
    configure_workspace(owner)
    events = ["lead.created", "lead.qualified", "message.sent", "message.replied", "contact.unsubscribed"]
    register(owner, receiver, events=events)
    tag = unique("c")
    imported = csv_import.import_csv(
        actor=owner, data=f"company,website\nAcme {tag},https://{tag}-bakery.de\n".encode()
    )
    assert imported.imported == 1
    lead_ids = [make_contactable_lead(owner, email=f"{unique('ada')}@example.test") for _ in range(2)]
    assert leads.set_status(actor=owner, lead_ids=lead_ids, status="new") == 2  # they are made qualified
    assert leads.set_status(actor=owner, lead_ids=lead_ids, status="qualified") == 2
    message_ids = draft_and_queue(owner, lead_ids[:1])
    with SMTPServer() as smtp:
        sent = sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(smtp_port=smtp.port))
    assert sent.sent == 1
    message_log.mark_replied(actor=owner, message_id=message_ids[0])
    suppression.add_suppression(actor=owner, channel="email", address="gone@example.test", reason="unsubscribed")
    suppression.add_suppression(actor=owner, channel="email", address="bounce@example.test", reason="bounced")
    counts = Counter(d.event for d in deliveries(owner))
    assert counts == {
        "lead.created": 1,
        "lead.qualified": 2,
        "message.sent": 1,
        "message.replied": 1,
        "contact.unsubscribed": 1,
    }
    while deliver_due(workspace_id=owner.workspace_id).claimed:
        pass
    assert len(receiver.requests) == 6 and all(r.verified for r in receiver.requests)
    bodies = {json.loads(r.body)["type"]: json.loads(r.body)["data"] for r in receiver.requests}
    assert bodies["message.replied"]["id"] == message_ids[0]
    assert bodies["contact.unsubscribed"]["address"] == "gone@example.test"
    assert bodies["lead.created"]["domain"] == f"{tag}-bakery.de"


# -- the API --------------------------------------------------------------------------------------------------


@pytest.fixture
def client():
    with TestClient(create_app()) as test_client:
        yield test_client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_api_registers_lists_changes_and_deletes_endpoints_with_the_secret_shown_once(client, receiver):
    a = seeded_workspace()
    created = client.post(
        "/api/v1/webhooks/endpoints",
        json={"url": receiver.url, "events": ["lead.created", "run.finished"], "description": "Zapier"},
        headers=auth(a.key),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["status"] == "active"
    endpoint_id = body["id"]
    listed = client.get("/api/v1/webhooks/endpoints", headers=auth(a.key)).json()
    assert [e["id"] for e in listed] == [endpoint_id] and "secret" not in listed[0]
    assert "secret" not in client.get(f"/api/v1/webhooks/endpoints/{endpoint_id}", headers=auth(a.key)).json()
    changed = client.patch(
        f"/api/v1/webhooks/endpoints/{endpoint_id}", json={"events": ["lead.qualified"]}, headers=auth(a.key)
    )
    assert changed.status_code == 200 and changed.json()["events"] == ["lead.qualified"]
    assert client.delete(f"/api/v1/webhooks/endpoints/{endpoint_id}", headers=auth(a.key)).status_code == 204
    assert client.get(f"/api/v1/webhooks/endpoints/{endpoint_id}", headers=auth(a.key)).status_code == 404
    with UnitOfWork() as uow:
        actions = Counter(
            uow.session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.target_type == "webhook_endpoint", AuditEvent.target_id == endpoint_id
                )
            )
        )
    assert actions == {"webhook_endpoint.created": 1, "webhook_endpoint.updated": 1, "webhook_endpoint.deleted": 1}


def test_the_api_needs_the_write_scope_and_refuses_private_urls_as_a_problem(client, monkeypatch):
    reader = seeded_workspace(scopes="read")
    assert client.get("/api/v1/webhooks/endpoints", headers=auth(reader.key)).status_code == 200  # reading is read
    refused = client.post("/api/v1/webhooks/endpoints", json={"url": "https://hooks.example.com/x", "events": ["lead.created"]},
                          headers=auth(reader.key))
    assert refused.status_code == 403 and "'write' scope" in refused.json()["detail"]
    writer = seeded_workspace()
    monkeypatch.setenv("CRAWL_ALLOW_PRIVATE", "")
    get_settings.cache_clear()
    try:
        private = client.post(
            "/api/v1/webhooks/endpoints",
            json={"url": "http://169.254.169.254/", "events": ["lead.created"]},
            headers=auth(writer.key),
        )
    finally:
        get_settings.cache_clear()
    assert private.status_code == 422
    assert private.headers["content-type"] == "application/problem+json"
    assert "refused" in private.json()["detail"]


def test_another_workspaces_key_gets_404_for_every_webhook_operation(client, receiver, held):
    a, b = seeded_workspace(leads=1), seeded_workspace(leads=1)
    endpoint = register(a.actor, receiver)
    leads.update_lead(actor=a.actor, lead_id=a.lead_ids[0], status="new", owner_id=None, tags=[], notes="")
    leads.update_lead(actor=a.actor, lead_id=a.lead_ids[0], status="qualified", owner_id=None, tags=[], notes="")
    [delivery] = deliveries(a.actor)
    calls = [
        ("get", f"/api/v1/webhooks/endpoints/{endpoint.id}", None),
        ("patch", f"/api/v1/webhooks/endpoints/{endpoint.id}", {"description": "mine now"}),
        ("delete", f"/api/v1/webhooks/endpoints/{endpoint.id}", None),
        ("get", f"/api/v1/webhooks/deliveries?endpoint_id={endpoint.id}", None),
        ("get", f"/api/v1/webhooks/deliveries/{delivery.id}", None),
        ("post", f"/api/v1/webhooks/deliveries/{delivery.id}/redeliver", None),
    ]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=auth(b.key))
        assert response.status_code == 404, (method, path, response.text)
    assert client.get("/api/v1/webhooks/deliveries", headers=auth(b.key)).json() == []
    mine = client.get(f"/api/v1/webhooks/deliveries/{delivery.id}", headers=auth(a.key))
    assert mine.status_code == 200 and mine.json()["message_id"] == delivery.message_id
    assert webhooks.get_endpoint_or_raise(actor=a.actor, endpoint_id=endpoint.id).description == "CRM"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="RQ needs REDIS_URL (the PostgreSQL run sets it)")
def test_the_delivery_job_runs_on_a_real_rq_worker(owner, receiver):
    from redis import Redis
    from rq import Queue

    url = os.environ["REDIS_URL"]
    Queue(WEBHOOKS_DELIVER.queue, connection=Redis.from_url(url)).empty()
    token = runners.current_runner.set(runners.RQRunner(get_settings(), redis_url=url))
    try:
        register(owner, receiver)
        qualify(owner)
    finally:
        runners.current_runner.reset(token)
    [pending] = deliveries(owner)
    assert pending.status == "pending" and receiver.requests == []  # queued on RQ, not run here
    worker = subprocess.run(
        [str(Path(sys.executable).with_name("rq")), "worker", "--burst", "--url", url, WEBHOOKS_DELIVER.queue],
        cwd=PROJECT_ROOT,
        env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr[-2000:]
    view = webhooks.get_delivery_or_raise(actor=owner, delivery_id=pending.id)
    assert view.status == "succeeded" and [r.verified for r in receiver.requests] == [True]


def test_an_endpoint_written_in_the_same_transaction_gets_the_events_emitted_after_it(owner):
    """Endpoints are read once per transaction (a chunk of replies emits an event per mail); a session that
    adds, changes or removes an endpoint reads them again, so no event misses an endpoint it should reach."""
    from core.db.models import WebhookDelivery, WebhookEndpoint
    from core.webhooks import events as webhook_events

    data = {"id": 1, "lead_id": 1, "channel": "email", "status": "replied"}
    with UnitOfWork() as uow:
        assert webhook_events.emit(uow, workspace_id=owner.workspace_id, event="message.replied", data=data) == 0
        endpoint = WebhookEndpoint(workspace_id=owner.workspace_id, url="https://hooks.example.com/in",
                                   events=["message.replied"], secret_sealed="sealed")
        uow.session.add(endpoint)
        uow.session.flush()
        assert webhook_events.emit(uow, workspace_id=owner.workspace_id, event="message.replied", data=data) == 1
        endpoint.events = ["lead.created"]
        uow.session.flush()
        assert webhook_events.emit(uow, workspace_id=owner.workspace_id, event="message.replied", data=data) == 0
        uow.session.flush()
        owed = uow.session.scalars(select(WebhookDelivery.endpoint_id).where(WebhookDelivery.endpoint_id == endpoint.id))
        assert list(owed) == [endpoint.id]
        # left uncommitted: the unit of work rolls back on leaving
