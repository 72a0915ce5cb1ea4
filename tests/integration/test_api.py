"""The REST API (/api/v1): keys and scopes, workspace isolation, problems, cursors, idempotency, limits."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from api.app import create_app
from core.apikeys import service as apikeys
from core.config import PROJECT_ROOT, get_settings
from core.db import UnitOfWork
from core.db.models import ApiKey, AuditEvent, Campaign, Suppression, utcnow
from core.leads import query as lead_query
from tests.conftest import make_owner, unique
from tests.fixtures.api_data import seeded_workspace
from tests.fixtures.api_server import serve
from tests.fixtures.leads_data import make_lead

PROBLEM = "application/problem+json"


@pytest.fixture
def client():
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def a():
    return seeded_workspace()


@pytest.fixture
def b():
    return seeded_workspace()


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


# -- keys ---------------------------------------------------------------------------------------------------


def test_a_key_is_shown_once_stored_hashed_and_its_creation_and_use_audited(client, owner):
    created = apikeys.create_api_key(actor=owner, name="CRM sync", scopes="read")
    assert created.key.startswith("lsk_")
    with UnitOfWork() as uow:
        row = uow.session.get(ApiKey, created.id)
        assert row.key_hash == apikeys.hash_key(created.key) and created.key not in (row.key_hash, row.prefix)
        assert row.last_used_at is None
    assert client.get("/api/v1/leads", headers=auth(created.key)).status_code == 200
    [view] = apikeys.list_api_keys(actor=owner)
    assert view.last_used_at is not None and view.name == "CRM sync" and view.scopes == ("read",)
    with UnitOfWork() as uow:
        actions = set(
            uow.session.scalars(
                select(AuditEvent.action).where(AuditEvent.target_type == "api_key", AuditEvent.target_id == created.id)
            )
        )
    assert actions == {"api_key.created", "api_key.used"}


@pytest.mark.parametrize("header", [None, "Bearer lsk_nope", "Basic abc", "Bearer "])
def test_missing_or_unknown_keys_get_401_problems(client, header):
    response = client.get("/api/v1/leads", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/api/v1/problems/unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_and_expired_keys_get_401(client, owner):
    revoked = apikeys.create_api_key(actor=owner, name="old", scopes="read")
    apikeys.revoke_api_key(actor=owner, key_id=revoked.id)
    expired = apikeys.create_api_key(actor=owner, name="expired", scopes="read")
    with UnitOfWork() as uow:
        uow.session.execute(
            update(ApiKey).where(ApiKey.id == expired.id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        uow.commit()
    for key in (revoked.key, expired.key):
        response = client.get("/api/v1/leads", headers=auth(key))
        assert response.status_code == 401, response.text


def test_a_member_cannot_make_keys(owner):
    from core.actor import Actor
    from core.errors import PermissionDenied

    member = Actor(owner.user_id, owner.email, owner.workspace_id, owner.workspace_name, "member")
    with pytest.raises(PermissionDenied):
        apikeys.create_api_key(actor=member, name="x", scopes="read")


def test_scopes_read_cannot_write_or_send_write_cannot_send(client, a):
    read = apikeys.create_api_key(actor=a.actor, name="r", scopes="read").key
    write = apikeys.create_api_key(actor=a.actor, name="w", scopes="read,write").key
    patch = {"status": "contacted"}
    assert client.get(f"/api/v1/leads/{a.lead_ids[0]}", headers=auth(read)).status_code == 200
    refused = client.patch(f"/api/v1/leads/{a.lead_ids[0]}", json=patch, headers=auth(read))
    assert refused.status_code == 403 and refused.json()["type"] == "/api/v1/problems/forbidden"
    assert client.post("/api/v1/strategies", json={"goal": "bakeries in York"}, headers=auth(read)).status_code == 403
    send = {"message_ids": a.message_ids}
    assert client.post("/api/v1/messages/send", json=send, headers=auth(write)).status_code == 403
    assert client.patch(f"/api/v1/leads/{a.lead_ids[0]}", json=patch, headers=auth(write)).status_code == 200


def test_cli_creates_a_key_and_prints_it_once_as_json(owner):
    done = subprocess.run(
        [sys.executable, "-m", "core", "create-api-key", "--workspace", owner.workspace_name, "--scopes",
         "read,write", "--json"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert set(printed) >= {"id", "key"} and printed["scopes"] == ["read", "write"]
    assert apikeys.authenticate(printed["key"]).actor.workspace_id == owner.workspace_id
    assert printed["key"] not in done.stderr


# -- isolation ----------------------------------------------------------------------------------------------


def isolation_table(b):
    """Every operation that takes an id, called with workspace B's ids."""
    lead, message, strategy, version = b.lead_ids[0], b.message_ids[0], b.strategy_id, b.version_id
    return [
        ("GET", f"/api/v1/leads/{lead}", None),
        ("PATCH", f"/api/v1/leads/{lead}", {"status": "contacted"}),
        ("DELETE", f"/api/v1/leads/{lead}", None),
        ("GET", f"/api/v1/strategies/{strategy}", None),
        ("GET", f"/api/v1/strategies/{strategy}/versions", None),
        ("POST", f"/api/v1/strategies/{strategy}/versions", {"strategy": {}, "change_note": "x"}),
        ("POST", f"/api/v1/strategies/{strategy}/approve", {"version_id": version}),
        ("POST", "/api/v1/runs", {"strategy_id": strategy, "urls": ["https://example.com"]}),
        ("GET", f"/api/v1/messages/{message}", None),
        ("POST", "/api/v1/drafts", {"template_id": b.template_id, "lead_ids": [lead]}),
    ]


def test_workspace_a_key_never_reaches_workspace_b_records(client, a, b):
    for method, path, body in isolation_table(b):
        response = client.request(method, path, json=body, headers=auth(a.key))
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.json()["type"] == "/api/v1/problems/not-found"
    # Bulk actions and approval quietly skip ids that are not the workspace's own: nothing of B's changes.
    assert client.post("/api/v1/leads/bulk", json={"action": "delete", "lead_ids": b.lead_ids},
                       headers=auth(a.key)).json() == {"action": "delete", "affected": 0}
    assert client.post("/api/v1/messages/approve", json={"message_ids": b.message_ids},
                       headers=auth(a.key)).json()["approved"] == 0
    # Lists show only A's own.
    listed = client.get("/api/v1/leads", params={"limit": 1000}, headers=auth(a.key)).json()["data"]
    assert {row["id"] for row in listed} == set(a.lead_ids)
    assert b.strategy_id not in {s["id"] for s in client.get("/api/v1/strategies", headers=auth(a.key)).json()}
    assert not set(b.message_ids) & {m["id"] for m in client.get("/api/v1/messages", headers=auth(a.key)).json()}
    # And B still has everything.
    assert client.get(f"/api/v1/leads/{b.lead_ids[0]}", headers=auth(b.key)).status_code == 200


# -- leads: cursors, filters, NUL -----------------------------------------------------------------------------


@pytest.mark.parametrize("sort,order", [("score", "desc"), ("score", "asc"), ("name", "asc"), ("created_at", "desc")])
def test_cursor_pages_walk_every_lead_once_in_the_tables_order(client, owner, sort, order):
    key = apikeys.create_api_key(actor=owner, name="k", scopes="read").key
    ids = [make_lead(owner, f"{unique('c')}.example.test", score=(n % 4) * 10.0 if n % 5 else None)
           for n in range(23)]
    seen: list[int] = []
    cursor = None
    while True:
        params = {"sort": sort, "order": order, "limit": 5, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/leads", params=params, headers=auth(key)).json()
        seen += [row["id"] for row in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    table = lead_query.list_leads(actor=owner, flt=lead_query.LeadFilter(), sort=sort, descending=order == "desc",
                                  page_size=100)
    assert seen == [row.id for row in table.rows] and sorted(seen) == sorted(ids)


def test_a_cursor_from_another_sort_or_garbage_is_a_422_problem(client, a):
    first = client.get("/api/v1/leads", params={"limit": 1}, headers=auth(a.key)).json()
    other = client.get("/api/v1/leads", params={"cursor": first["next_cursor"], "sort": "name"}, headers=auth(a.key))
    garbage = client.get("/api/v1/leads", params={"cursor": "%%%"}, headers=auth(a.key))
    for response in (other, garbage):
        assert response.status_code == 422 and response.headers["content-type"] == PROBLEM


def test_filters_narrow_the_list(client, a):
    make_lead(a.actor, f"{unique('x')}.example.test", industry="plumbers", score=90.0)
    rows = client.get("/api/v1/leads", params={"industry": "bake", "score_min": 51}, headers=auth(a.key)).json()["data"]
    assert {r["id"] for r in rows} == set(a.lead_ids[1:])


@pytest.mark.parametrize(
    "method,path,body",
    [("GET", "/api/v1/leads?q=a%00b", None), ("GET", "/api/v1/leads?industry=%00", None),
     ("PATCH", "LEAD", {"notes": "a\u0000b"}), ("POST", "/api/v1/strategies", {"goal": "bakeries \u0000 in York"})],
)
def test_a_nul_character_is_refused_with_422_on_every_database(client, a, method, path, body):
    """Regression: a NUL in a lead filter gave 500 on PostgreSQL."""
    path = f"/api/v1/leads/{a.lead_ids[0]}" if path == "LEAD" else path
    response = client.request(method, path, json=body, headers=auth(a.key))
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert "NUL" in response.json()["detail"]


def test_lead_detail_update_and_delete(client, a):
    lead_id = a.lead_ids[0]
    detail = client.get(f"/api/v1/leads/{lead_id}", headers=auth(a.key)).json()
    assert detail["evidence"] and detail["contacts"] and "score_factors" in detail
    changed = client.patch(f"/api/v1/leads/{lead_id}", json={"tags": ["vip"], "notes": "call back"},
                           headers=auth(a.key)).json()
    assert changed["tags"] == ["vip"] and changed["notes"] == "call back" and changed["status"] == "qualified"
    assert client.delete(f"/api/v1/leads/{lead_id}", headers=auth(a.key)).status_code == 204
    assert client.get(f"/api/v1/leads/{lead_id}", headers=auth(a.key)).status_code == 404


# -- strategies ---------------------------------------------------------------------------------------------------


def test_a_goal_becomes_a_strategy_with_a_cost_preview_then_a_new_version_and_approval(client, a):
    made = client.post("/api/v1/strategies", json={"goal": "Independent bike shops in Bristol"}, headers=auth(a.key))
    assert made.status_code == 201, made.text
    strategy_id, version = made.json()["strategy"]["id"], made.json()["version"]
    assert version["cost_preview"] and version["version"] == 1
    edited = dict(version["strategy"], summary="Bike shops, edited through the API")
    saved = client.post(f"/api/v1/strategies/{strategy_id}/versions", json={"strategy": edited},
                        headers=auth(a.key))
    assert saved.status_code == 201 and saved.json()["version"] == 2
    approved = client.post(f"/api/v1/strategies/{strategy_id}/approve", json={"version_id": saved.json()["id"]},
                           headers=auth(a.key))
    assert approved.json()["status"] == "approved" and approved.json()["approved_version_id"] == saved.json()["id"]
    versions = client.get(f"/api/v1/strategies/{strategy_id}/versions", headers=auth(a.key)).json()
    assert [v["version"] for v in versions] == [1, 2] or [v["version"] for v in versions] == [2, 1]


# -- suppressions, messages ---------------------------------------------------------------------------------------


def test_suppressions_add_list_remove(client, a):
    address = f"{unique('x')}@example.test"
    added = client.post("/api/v1/suppressions", json={"channel": "email", "address": address.upper()},
                        headers=auth(a.key))
    assert added.status_code == 201 and added.json()["address"] == address
    listed = client.get("/api/v1/suppressions", params={"search": address}, headers=auth(a.key)).json()
    assert [s["address"] for s in listed] == [address]
    assert client.delete(f"/api/v1/suppressions/email/{address}", headers=auth(a.key)).status_code == 204
    assert client.delete(f"/api/v1/suppressions/email/{address}", headers=auth(a.key)).status_code == 404


def test_a_message_with_its_status_history(client, a):
    approved = client.post("/api/v1/messages/approve", json={"message_ids": a.message_ids}, headers=auth(a.key))
    assert approved.json()["approved"] == len(a.message_ids)
    message = client.get(f"/api/v1/messages/{a.message_ids[0]}", headers=auth(a.key)).json()
    assert message["status"] == "approved" and [e["status"] for e in message["history"]][-1] == "approved"


# -- conventions ---------------------------------------------------------------------------------------------------


def test_openapi_31_and_docs(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/leads" in schema["paths"] and "/unsubscribe" not in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\twith tab"}).headers["x-request-id"]
    assert made and " " not in made


def test_oversized_bodies_get_413(client, a):
    big = {"goal": "x" * (get_settings().max_request_body_bytes + 10)}
    assert client.post("/api/v1/strategies", json=big, headers=auth(a.key)).status_code == 413


def test_rate_limit_per_key_answers_429_with_retry_after(monkeypatch, a, b):
    monkeypatch.setenv("API_RATE_PER_SECOND", "0.01")
    monkeypatch.setenv("API_RATE_BURST", "3")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as limited:
            codes = [limited.get("/api/v1/strategies", headers=auth(a.key)).status_code for _ in range(4)]
            refused = limited.get("/api/v1/strategies", headers=auth(a.key))
            other_key = limited.get("/api/v1/strategies", headers=auth(b.key))
    finally:
        get_settings.cache_clear()
    assert codes == [200, 200, 200, 429]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["type"] == "/api/v1/problems/rate-limited"
    assert other_key.status_code == 200


def test_idempotency_same_key_same_body_replays_different_body_is_422(client, a):
    headers = auth(a.key, **{"Idempotency-Key": unique("idem")})
    body = {"channel": "email", "address": f"{unique('i')}@example.test"}
    first = client.post("/api/v1/suppressions", json=body, headers=headers)
    again = client.post("/api/v1/suppressions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = client.post("/api/v1/suppressions", json={**body, "address": "x" + body["address"]}, headers=headers)
    assert other.status_code == 422 and other.json()["type"] == "/api/v1/problems/idempotency-mismatch"


def test_idempotency_concurrent_duplicates_create_one_strategy(a):
    """Two clients post the same goal with the same Idempotency-Key at once: one strategy, one answer."""
    goal = f"Independent florists in {unique('town')}"
    headers = auth(a.key, **{"Idempotency-Key": unique("idem")})
    results: list[httpx.Response] = []
    with serve(create_app()) as url:
        barrier = threading.Barrier(6)

        def post() -> None:
            barrier.wait()
            results.append(httpx.post(url + "/api/v1/strategies", json={"goal": goal}, headers=headers, timeout=60))

        threads = [threading.Thread(target=post) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [r.status_code for r in results] == [201] * 6
    assert len({r.json()["strategy"]["id"] for r in results}) == 1
    with UnitOfWork() as uow:
        count = uow.session.scalar(
            select(func.count()).select_from(Campaign).where(Campaign.workspace_id == a.actor.workspace_id,
                                                             Campaign.goal == goal)
        )
    assert count == 1


# -- public routes --------------------------------------------------------------------------------------------------


def test_one_click_unsubscribe_commits_through_the_service(client, owner):
    from core.outreach.unsubscribe import unsubscribe_url

    address = f"{unique('u')}@example.test"
    url = unsubscribe_url(workspace_id=owner.workspace_id, channel="email", address=address)
    path = url[url.index("/unsubscribe"):]
    assert client.post(path).status_code == 200
    with UnitOfWork() as uow:
        row = uow.session.execute(
            select(Suppression.reason, Suppression.source).where(Suppression.address == address)
        ).one()
        audited = uow.session.scalar(
            select(func.count()).select_from(AuditEvent).where(
                AuditEvent.workspace_id == owner.workspace_id, AuditEvent.action == "suppression.unsubscribed"
            )
        )
    assert tuple(row) == ("unsubscribed", "one-click") and audited == 1
    assert client.post(path).status_code == 200  # again: nothing new, still fine


def test_two_workspaces_keys_do_not_share_a_rate_bucket_nor_replays(client):
    first, second = make_owner(), make_owner()
    k1 = apikeys.create_api_key(actor=first, name="a", scopes="read,write").key
    k2 = apikeys.create_api_key(actor=second, name="b", scopes="read,write").key
    same = {"Idempotency-Key": "shared-key"}
    body = {"channel": "email", "address": f"{unique('s')}@example.test"}
    assert client.post("/api/v1/suppressions", json=body, headers=auth(k1, **same)).status_code == 201
    replay = client.post("/api/v1/suppressions", json=body, headers=auth(k2, **same))
    assert replay.status_code == 201 and "idempotent-replayed" not in replay.headers
