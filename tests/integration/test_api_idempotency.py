"""Idempotency-Key under concurrency: two clients send the same POST with the same key at the same moment,
through a real uvicorn on loopback, and one thing is created; without the key the same race creates two
(the control that shows the race is real)."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from core.db import UnitOfWork
from core.db.models import Campaign, Template
from tests.conftest import unique
from tests.fixtures.api_data import seeded_workspace
from tests.fixtures.api_server import serve


def _race(url: str, path: str, body: dict, headers: dict[str, str], clients: int = 2) -> list[httpx.Response]:
    barrier = threading.Barrier(clients)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def post() -> None:
        with httpx.Client(timeout=60) as client:  # one connection per client
            barrier.wait()
            response = client.post(url + path, json=body, headers=headers)
        with lock:
            results.append(response)

    threads = [threading.Thread(target=post) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _count(model, workspace_id: int, **where) -> int:  # noqa: ANN001
    with UnitOfWork() as uow:
        query = select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(uow.session.scalar(query))


@pytest.mark.parametrize("with_key", [True, False], ids=["same-key", "no-key-control"])
def test_two_concurrent_clients_with_one_idempotency_key_create_one_strategy(with_key):
    a = seeded_workspace(leads=1)
    goal = f"Independent bike shops in {unique('town')}"
    headers = {"Authorization": f"Bearer {a.key}"}
    if with_key:
        headers["Idempotency-Key"] = unique("idem")
    with serve(create_app()) as url:
        results = _race(url, "/api/v1/strategies", {"goal": goal}, headers)
    assert [r.status_code for r in results] == [201, 201], [r.text for r in results]
    ids = {r.json()["strategy"]["id"] for r in results}
    created = _count(Campaign, a.actor.workspace_id, goal=goal)
    if with_key:
        assert len(ids) == 1 and created == 1
        assert sorted(r.headers.get("idempotent-replayed", "") for r in results) == ["", "true"]
    else:
        assert len(ids) == 2 and created == 2


def test_two_concurrent_clients_with_one_key_get_the_same_template_not_a_name_conflict():
    """Without the key the second of two identical template POSTs is a 422 (the name is taken); with it, a replay."""
    a = seeded_workspace(leads=1)
    name = unique("race")
    body = {"name": name, "channel": "email", "subject": "Hello {{ company }}", "body": "Hi {{ company }}"}
    headers = {"Authorization": f"Bearer {a.key}", "Idempotency-Key": unique("idem")}
    with serve(create_app()) as url:
        results = _race(url, "/api/v1/templates", body, headers)
    assert [r.status_code for r in results] == [201, 201], [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1 and _count(Template, a.actor.workspace_id, name=name) == 1
