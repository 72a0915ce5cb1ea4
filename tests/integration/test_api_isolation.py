"""Workspace isolation, table-driven over every operation of the OpenAPI document.

Each operation is called with workspace A's key and workspace B's ids. An id in the path answers 404; an id
inside a body or a query answers exactly what an id that exists nowhere answers (so nothing tells A that
B's record exists), and B's records are unchanged afterwards. A completeness check fails when an operation
is added to the API without a row here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from api.app import create_app
from core.apikeys import service as apikeys
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import ApiKey, Enrollment, Job, Reply, Run, WebhookDelivery, WebhookEndpoint, utcnow
from core.outreach import suppression
from core.sequences import service as sequences
from core.sequences.models import StepInput
from tests.conftest import make_owner, unique
from tests.fixtures.api_data import Seeded, seeded_workspace

NOWHERE = 2**31 - 2  # a valid id that no record has


@dataclass
class World:
    a: Seeded
    b: Seeded
    b_run: int
    b_address: str
    b_version_strategy: dict[str, Any]
    b_endpoint: int = 0
    b_delivery: int = 0
    b_analysis: int = 0
    b_import: int = 0
    a_sequence: int = 0
    b_sequence: int = 0
    b_enrollment: int = 0
    b_reply: int = 0


@dataclass(frozen=True)
class Row:
    """One call. ``path``/``body`` are functions of (world, id) where id is B's (or NOWHERE for the control)."""

    operation: str
    method: str
    path: Any
    body: Any = None
    params: Any = None
    expect_404: bool = True  # False: the answer must equal the answer for an id that exists nowhere


def _b_run(b: Seeded) -> int:
    with UnitOfWork() as uow:
        run = Run(workspace_id=b.actor.workspace_id, campaign_id=b.strategy_id, strategy_version_id=b.version_id,
                  status="crawling")
        uow.session.add(run)
        uow.commit()
        return run.id


@pytest.fixture(scope="module", autouse=True)
def _unthrottled():
    """Each check reads all of B's records twice (before and after); with Redis the per-key rate limit is
    shared across the module's tests, and B's key would run into 429s that are not what is tested here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("API_RATE_PER_SECOND", "100000")
        patch.setenv("API_RATE_BURST", "100000")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def world(database):
    a, b = seeded_workspace(), seeded_workspace()
    address = f"{unique('b')}@example.test"
    suppression.add_suppression(actor=b.actor, channel="email", address=address, source="test")
    with TestClient(create_app()) as client:
        versions = client.get(f"/api/v1/strategies/{b.strategy_id}/versions",
                              headers={"Authorization": f"Bearer {b.key}"}).json()
    endpoint, delivery = _b_webhook(b)
    analysis, imported = _b_jobs(b)
    b_sequence, b_enrollment, b_reply = _b_sequence_and_reply(b)
    a_sequence = sequences.save_sequence(actor=a.actor, name=unique("a-seq"),
                                         steps=[StepInput(channel="email", template_id=a.template_id)])
    return World(a=a, b=b, b_run=_b_run(b), b_address=address, b_version_strategy=versions[0]["strategy"],
                 b_endpoint=endpoint, b_delivery=delivery, b_analysis=analysis, b_import=imported,
                 a_sequence=a_sequence, b_sequence=b_sequence, b_enrollment=b_enrollment, b_reply=b_reply)


def _b_sequence_and_reply(b: Seeded) -> tuple[int, int, int]:
    """B's sequence with one enrolled contact (a row as enrolment stores it) and a reply from one of B's leads."""
    sequence_id = sequences.save_sequence(actor=b.actor, name=unique("b-seq"),
                                          steps=[StepInput(channel="email", template_id=b.template_id)])
    with UnitOfWork() as uow:
        enrollment = Enrollment(workspace_id=b.actor.workspace_id, sequence_id=sequence_id, lead_id=b.lead_ids[1],
                                status="active", next_position=1, next_due_at=utcnow() + timedelta(days=30))
        reply = Reply(workspace_id=b.actor.workspace_id, lead_id=b.lead_ids[0], channel="email", source="file",
                      source_key=f"<{unique('b-reply')}@example.test>", matched_by="sender",
                      from_address="ada@b.example.test", subject="Re: Hello", body="Tell me more", full_body="Tell me more",
                      label="interested", received_at=utcnow())
        uow.session.add_all([enrollment, reply])
        uow.commit()
        return sequence_id, enrollment.id, reply.id


def _b_jobs(b: Seeded) -> tuple[int, int]:
    """B's analysis (queued, so a cancel that got through would show) and B's finished import with rejected rows."""
    with UnitOfWork() as uow:
        analysis = Job(workspace_id=b.actor.workspace_id, kind="analyses.site", queue="crawl", executor="rq",
                       args={"url": "https://b.example.com/"}, status="queued")
        rejected = f"{b.actor.workspace_id}-{unique('imp')}.rejected.csv"
        folder = get_settings().data_dir / "imports"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / rejected).write_bytes(b"website,row,error\nx,1,bad\n")
        imported = Job(workspace_id=b.actor.workspace_id, kind="leads.import_csv", executor="rq", status="succeeded",
                       args={"file": "gone.csv", "mapping": {"website": "website"}, "on_duplicate": "update"},
                       result={"rows_read": 1, "imported": 0, "updated": 0, "skipped": 0, "rejected": 1,
                               "rejected_rows": [[1, "bad"]], "rejected_file": rejected})
        uow.session.add_all([analysis, imported])
        uow.commit()
        return analysis.id, imported.id


def _b_webhook(b: Seeded) -> tuple[int, int]:
    """B's webhook endpoint and one delivery of it (rows as the service stores them)."""
    with UnitOfWork() as uow:
        endpoint = WebhookEndpoint(workspace_id=b.actor.workspace_id, url="https://hooks.example.com/b",
                                   events=["lead.created"], secret_sealed="sealed")
        uow.session.add(endpoint)
        uow.flush()
        delivery = WebhookDelivery(workspace_id=b.actor.workspace_id, endpoint_id=endpoint.id, event="lead.created",
                                   message_id=f"msg_{unique('d')}", body="{}", status="succeeded")
        uow.session.add(delivery)
        uow.commit()
        return endpoint.id, delivery.id


def table() -> list[Row]:
    return [
        # -- ids in the path: 404
        Row("get_lead", "GET", lambda w, i: f"/api/v1/leads/{i(w.b.lead_ids[0])}"),
        Row("update_lead", "PATCH", lambda w, i: f"/api/v1/leads/{i(w.b.lead_ids[0])}", lambda w, i: {"notes": "x"}),
        Row("delete_lead", "DELETE", lambda w, i: f"/api/v1/leads/{i(w.b.lead_ids[0])}"),
        Row("get_strategy", "GET", lambda w, i: f"/api/v1/strategies/{i(w.b.strategy_id)}"),
        Row("list_versions", "GET", lambda w, i: f"/api/v1/strategies/{i(w.b.strategy_id)}/versions"),
        Row("save_version", "POST", lambda w, i: f"/api/v1/strategies/{i(w.b.strategy_id)}/versions",
            lambda w, i: {"strategy": w.b_version_strategy, "change_note": "from A"}),
        Row("approve", "POST", lambda w, i: f"/api/v1/strategies/{i(w.b.strategy_id)}/approve",
            lambda w, i: {"version_id": i(w.b.version_id)}),
        Row("get_run", "GET", lambda w, i: f"/api/v1/runs/{i(w.b_run)}"),
        Row("cancel_run", "POST", lambda w, i: f"/api/v1/runs/{i(w.b_run)}/cancel"),
        Row("get_message", "GET", lambda w, i: f"/api/v1/messages/{i(w.b.message_ids[0])}"),
        Row("get_analysis", "GET", lambda w, i: f"/api/v1/analyses/{i(w.b_analysis)}"),
        Row("cancel_analysis", "POST", lambda w, i: f"/api/v1/analyses/{i(w.b_analysis)}/cancel"),
        Row("get_import", "GET", lambda w, i: f"/api/v1/imports/{i(w.b_import)}"),
        Row("get_rejected_rows", "GET", lambda w, i: f"/api/v1/imports/{i(w.b_import)}/rejected.csv"),
        Row("remove_suppression", "DELETE",
            lambda w, i: f"/api/v1/suppressions/email/{quote(w.b_address if i(1) == 1 else 'nobody@example.test')}"),
        # -- B's ids inside a body: 404 for the record the call is about
        Row("approve", "POST", lambda w, i: f"/api/v1/strategies/{w.a.strategy_id}/approve",
            lambda w, i: {"version_id": i(w.b.version_id)}),
        Row("start_run", "POST", lambda w, i: "/api/v1/runs",
            lambda w, i: {"strategy_id": i(w.b.strategy_id), "urls": ["https://shop.example.test"]}),
        Row("create_drafts", "POST", lambda w, i: "/api/v1/drafts",
            lambda w, i: {"template_id": i(w.b.template_id), "lead_ids": [w.a.lead_ids[2]]}),
        # -- B's ids among others: answered as ids that exist nowhere (skipped, refused, counted 0)
        Row("create_drafts", "POST", lambda w, i: "/api/v1/drafts",
            lambda w, i: {"template_id": w.a.template_id, "lead_ids": [i(w.b.lead_ids[2])]}, expect_404=False),
        Row("bulk", "POST", lambda w, i: "/api/v1/leads/bulk",
            lambda w, i: {"action": "set_status", "lead_ids": [i(x) for x in w.b.lead_ids], "status": "lost"},
            expect_404=False),
        Row("bulk", "POST", lambda w, i: "/api/v1/leads/bulk",
            lambda w, i: {"action": "delete", "lead_ids": [i(x) for x in w.b.lead_ids]}, expect_404=False),
        Row("bulk", "POST", lambda w, i: "/api/v1/leads/bulk",
            lambda w, i: {"action": "assign", "lead_ids": [w.a.lead_ids[0]], "owner_id": i(w.b.actor.user_id)},
            expect_404=False),
        Row("update_lead", "PATCH", lambda w, i: f"/api/v1/leads/{w.a.lead_ids[0]}",
            lambda w, i: {"owner_id": i(w.b.actor.user_id)}, expect_404=False),
        Row("approve_messages", "POST", lambda w, i: "/api/v1/messages/approve",
            lambda w, i: {"message_ids": [i(x) for x in w.b.message_ids]}, expect_404=False),
        Row("send_messages", "POST", lambda w, i: "/api/v1/messages/send",
            lambda w, i: {"message_ids": [i(x) for x in w.b.message_ids]}, expect_404=False),
        # -- lists and filters: B's ids as filters find nothing
        Row("list_leads", "GET", lambda w, i: "/api/v1/leads",
            params=lambda w, i: {"campaign_id": i(w.b.strategy_id)}, expect_404=False),
        Row("list_leads", "GET", lambda w, i: "/api/v1/leads",
            params=lambda w, i: {"owner_id": i(w.b.actor.user_id)}, expect_404=False),
        Row("export_leads", "GET", lambda w, i: "/api/v1/leads/export.csv",
            params=lambda w, i: {"campaign_id": i(w.b.strategy_id)}, expect_404=False),
        Row("export_leads", "GET", lambda w, i: "/api/v1/leads/export.csv",
            params=lambda w, i: {"owner_id": i(w.b.actor.user_id)}, expect_404=False),
        Row("list_messages", "GET", lambda w, i: "/api/v1/messages",
            params=lambda w, i: {"lead_id": i(w.b.lead_ids[0])}, expect_404=False),
        Row("list_suppressions", "GET", lambda w, i: "/api/v1/suppressions",
            params=lambda w, i: {"search": w.b_address if i(1) == 1 else "nobody@example.test"}, expect_404=False),
        # -- webhooks
        Row("get_webhook_endpoint", "GET", lambda w, i: f"/api/v1/webhooks/endpoints/{i(w.b_endpoint)}"),
        Row("update_webhook_endpoint", "PATCH", lambda w, i: f"/api/v1/webhooks/endpoints/{i(w.b_endpoint)}",
            lambda w, i: {"description": "x"}),
        Row("delete_webhook_endpoint", "DELETE", lambda w, i: f"/api/v1/webhooks/endpoints/{i(w.b_endpoint)}"),
        Row("get_webhook_delivery", "GET", lambda w, i: f"/api/v1/webhooks/deliveries/{i(w.b_delivery)}"),
        Row("redeliver_webhook", "POST", lambda w, i: f"/api/v1/webhooks/deliveries/{i(w.b_delivery)}/redeliver"),
        Row("list_webhook_deliveries", "GET", lambda w, i: "/api/v1/webhooks/deliveries",
            params=lambda w, i: {"endpoint_id": i(w.b_endpoint)}),
        # -- replies
        Row("get_reply", "GET", lambda w, i: f"/api/v1/replies/{i(w.b_reply)}"),
        Row("relabel_reply", "PATCH", lambda w, i: f"/api/v1/replies/{i(w.b_reply)}", lambda w, i: {"label": "other"}),
        Row("act_on_reply", "POST", lambda w, i: f"/api/v1/replies/{i(w.b_reply)}/actions",
            lambda w, i: {"action": "do_not_contact"}),
        Row("answer_reply", "POST", lambda w, i: f"/api/v1/replies/{i(w.b_reply)}/answer", lambda w, i: {"body": "Hi"}),
        Row("list_replies", "GET", lambda w, i: "/api/v1/replies",
            params=lambda w, i: {"lead_id": i(w.b.lead_ids[0])}, expect_404=False),
        # -- sequences
        Row("get_sequence", "GET", lambda w, i: f"/api/v1/sequences/{i(w.b_sequence)}"),
        Row("replace_sequence", "PUT", lambda w, i: f"/api/v1/sequences/{i(w.b_sequence)}",
            lambda w, i: {"name": "from A", "steps": [{"channel": "email", "template_id": w.a.template_id}]}),
        Row("set_sequence_status", "POST", lambda w, i: f"/api/v1/sequences/{i(w.b_sequence)}/status",
            lambda w, i: {"status": "paused"}),
        Row("enrol_leads", "POST", lambda w, i: f"/api/v1/sequences/{i(w.b_sequence)}/enrollments",
            lambda w, i: {"lead_ids": [w.a.lead_ids[0]], "dry_run": True}),
        Row("list_enrollments", "GET", lambda w, i: f"/api/v1/sequences/{i(w.b_sequence)}/enrollments"),
        Row("sequence_funnel", "GET", lambda w, i: f"/api/v1/sequences/{i(w.b_sequence)}/funnel"),
        Row("set_enrollment_status", "POST", lambda w, i: f"/api/v1/enrollments/{i(w.b_enrollment)}/status",
            lambda w, i: {"status": "paused"}),
        Row("remove_enrollment", "DELETE", lambda w, i: f"/api/v1/enrollments/{i(w.b_enrollment)}"),
        Row("create_sequence", "POST", lambda w, i: "/api/v1/sequences",
            lambda w, i: {"name": unique("s"), "steps": [{"channel": "email", "template_id": w.a.template_id}],
                          "campaign_id": i(w.b.strategy_id)}),
        Row("create_sequence", "POST", lambda w, i: "/api/v1/sequences",
            lambda w, i: {"name": "same", "steps": [{"channel": "email", "template_id": i(w.b.template_id)}]},
            expect_404=False),
        Row("enrol_leads", "POST", lambda w, i: f"/api/v1/sequences/{w.a_sequence}/enrollments",
            lambda w, i: {"lead_ids": [i(w.b.lead_ids[1])]}, expect_404=False),
    ]


# Operations that take no id of anything: they read or create only in the key's workspace, checked below.
NO_IDS = {"list_sequences", "list_strategies", "create_strategy", "list_templates", "create_template", "add_suppression", "insights",
          "list_webhook_endpoints", "create_webhook_endpoint", "start_analysis", "start_import"}


def _call(client: TestClient, world: World, row: Row, ids) -> Any:  # noqa: ANN001
    return client.request(
        row.method,
        row.path(world, ids),
        json=row.body(world, ids) if row.body else None,
        params=row.params(world, ids) if row.params else None,
        headers={"Authorization": f"Bearer {world.a.key}"},
    )


def _as_nowhere(value: Any, ids: set[int]) -> Any:
    """``value`` with every one of B's ids written as NOWHERE."""
    if isinstance(value, dict):
        return {k: _as_nowhere(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_nowhere(v, ids) for v in value]
    return NOWHERE if isinstance(value, int) and not isinstance(value, bool) and value in ids else value


def _snapshot(client: TestClient, world: World) -> str:
    """Everything of B's the API shows B."""
    headers = {"Authorization": f"Bearer {world.b.key}"}
    parts = [client.get(f"/api/v1/leads/{lead}", headers=headers).json() for lead in world.b.lead_ids]
    parts += [client.get(f"/api/v1/messages/{m}", headers=headers).json() for m in world.b.message_ids]
    parts += [client.get(f"/api/v1/strategies/{world.b.strategy_id}", headers=headers).json(),
              client.get(f"/api/v1/strategies/{world.b.strategy_id}/versions", headers=headers).json(),
              client.get(f"/api/v1/runs/{world.b_run}", headers=headers).json(),
              client.get("/api/v1/suppressions", headers=headers).json(),
              client.get("/api/v1/templates", headers=headers).json(),
              client.get(f"/api/v1/webhooks/endpoints/{world.b_endpoint}", headers=headers).json(),
              client.get(f"/api/v1/webhooks/deliveries/{world.b_delivery}", headers=headers).json(),
              client.get(f"/api/v1/analyses/{world.b_analysis}", headers=headers).json(),
              client.get(f"/api/v1/imports/{world.b_import}", headers=headers).json(),
              client.get(f"/api/v1/imports/{world.b_import}/rejected.csv", headers=headers).text,
              client.get(f"/api/v1/sequences/{world.b_sequence}", headers=headers).json(),
              client.get(f"/api/v1/sequences/{world.b_sequence}/enrollments", headers=headers).json(),
              client.get(f"/api/v1/replies/{world.b_reply}", headers=headers).json()]
    return json.dumps(parts, sort_keys=True, default=str)


def test_the_table_covers_every_operation_of_the_document():
    schema = create_app().openapi()
    operations = {op["operationId"] for item in schema["paths"].values() for op in item.values() if "operationId" in op}
    covered = {row.operation for row in table()} | NO_IDS
    assert operations - covered == set(), "add a row to table() (or NO_IDS) for each new operation"
    assert covered - operations == set()


@pytest.mark.parametrize("row", table(), ids=lambda r: f"{r.operation}-{r.method}")
def test_workspace_a_key_with_workspace_b_ids(world, row):
    with TestClient(create_app()) as client:
        before = _snapshot(client, world)
        with_b = _call(client, world, row, lambda real: real)
        nowhere = _call(client, world, row, lambda real: NOWHERE)
        after = _snapshot(client, world)
    assert after == before, "workspace B's records changed"
    if row.expect_404:
        assert with_b.status_code == 404, with_b.text
        assert with_b.json()["type"] == "/api/v1/problems/not-found"
        assert nowhere.status_code == 404
    else:
        assert with_b.status_code == nowhere.status_code, (with_b.text, nowhere.text)
        if with_b.headers["content-type"].startswith("text/csv"):
            assert with_b.text == nowhere.text
        elif with_b.headers["content-type"].startswith("application/problem+json"):
            assert with_b.json()["type"] == nowhere.json()["type"]
            assert with_b.json()["detail"].replace(str(world.b.actor.user_id), "?") == nowhere.json()[
                "detail"
            ].replace(str(NOWHERE), "?")
        else:
            b_ids = {*world.b.lead_ids, *world.b.message_ids, world.b.strategy_id, world.b.actor.user_id}
            assert _as_nowhere(with_b.json(), b_ids) == nowhere.json()


def test_operations_without_ids_see_and_make_only_the_keys_workspace(world):
    a_headers = {"Authorization": f"Bearer {world.a.key}"}
    with TestClient(create_app()) as client:
        before = _snapshot(client, world)
        strategies = client.get("/api/v1/strategies", headers=a_headers).json()
        templates = client.get("/api/v1/templates", headers=a_headers).json()
        made = client.post("/api/v1/strategies", json={"goal": "Bike shops in Leeds"}, headers=a_headers).json()
        template = client.post("/api/v1/templates", json={"name": unique("t"), "channel": "email", "subject": "Hello", "body": "Hi"},
                               headers=a_headers).json()
        added = client.post("/api/v1/suppressions", json={"channel": "email", "address": world.b_address},
                            headers=a_headers)
        insights = client.get("/api/v1/insights", headers=a_headers).json()
        imported = client.post("/api/v1/imports", content=b"website\nhttps://a-only.example.com\n",
                               headers={**a_headers, "Content-Type": "text/csv"}).json()
        b_sees_import = client.get(f"/api/v1/imports/{imported['id']}", headers={"Authorization": f"Bearer {world.b.key}"})
        after = _snapshot(client, world)
        b_strategies = client.get("/api/v1/strategies", headers={"Authorization": f"Bearer {world.b.key}"}).json()
    assert {s["id"] for s in strategies} == {world.a.strategy_id}
    assert world.b.template_id not in {t["id"] for t in templates}
    assert made["strategy"]["id"] not in {s["id"] for s in b_strategies}
    assert template["id"] != world.b.template_id and added.status_code == 201  # A's own entry, B's untouched
    assert sum(insights["funnel"].values()) == len(world.a.lead_ids)
    assert b_sees_import.status_code == 404
    assert after == before


# -- scopes and dead keys, over every operation of the document ---------------------------------------------------

SEND_OPERATIONS = {"send_messages", "answer_reply", "enrol_leads"}


def _every_operation() -> list[tuple[str, str, str]]:
    schema = create_app().openapi()
    return sorted(
        (op["operationId"], method.upper(), path.replace("{channel}", "email").replace("{address}", "x@example.test"))
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if "operationId" in op
    )


def _concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", str(NOWHERE), path)


@pytest.fixture(scope="module")
def keys(database):
    actor = make_owner()
    made = {name: apikeys.create_api_key(actor=actor, name=name, scopes=scopes)
            for name, scopes in [("read", "read"), ("write", "read,write"), ("revoked", "read,write,send"),
                                 ("expired", "read,write,send")]}
    apikeys.revoke_api_key(actor=actor, key_id=made["revoked"].id)
    with UnitOfWork() as uow:
        uow.session.execute(update(ApiKey).where(ApiKey.id == made["expired"].id)
                            .values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    return {name: key.key for name, key in made.items()}


@pytest.mark.parametrize("operation,method,path", _every_operation(), ids=lambda v: str(v))
def test_scopes_and_dead_keys_on_every_operation(keys, operation, method, path):
    """A read key cannot write or send, a write key cannot send; a revoked or expired key gets 401 everywhere."""
    url = _concrete(path)
    with TestClient(create_app()) as client:

        def call(key: str) -> Any:
            return client.request(method, url, json={} if method in ("POST", "PATCH") else None,
                                  headers={"Authorization": f"Bearer {key}"})

        for dead in ("revoked", "expired"):
            response = call(keys[dead])
            assert response.status_code == 401 and response.json()["type"] == "/api/v1/problems/unauthenticated"
        read, write = call(keys["read"]), call(keys["write"])
    if method == "GET":
        assert read.status_code != 403 and write.status_code != 403
    elif operation in SEND_OPERATIONS:
        assert read.status_code == 403 and write.status_code == 403
        assert write.json()["detail"] == "This API key lacks the 'send' scope."
    else:
        assert read.status_code == 403 and read.json()["detail"] == "This API key lacks the 'write' scope."
        assert write.status_code != 403
