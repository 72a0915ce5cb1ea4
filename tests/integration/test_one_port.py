"""`make run` alone serves the UI, the API, unsubscribe and webhooks on one port, and `check` is green on it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.apikeys import service as apikeys
from core.config import PROJECT_ROOT
from core.db import UnitOfWork
from core.db.models import Suppression
from core.outreach.unsubscribe import unsubscribe_url
from tests.conftest import unique
from tests.fixtures.api_server import free_port

BIN = Path(sys.executable).parent


@pytest.fixture
def ui_process(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "RECEIVER_", "PUBLIC_BASE_URL"))},
        "PYTHONPATH": str(PROJECT_ROOT),
        "PUBLIC_BASE_URL": url,
    }
    log = open(tmp_path / "ui.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(BIN / "streamlit"), "run", "server.py", "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield url, env
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_the_ui_port_answers_healthz_openapi_the_api_and_one_click_unsubscribe(ui_process, owner):
    url, env = ui_process
    assert httpx.get(url + "/healthz").json() == {"ok": True}
    assert httpx.get(url + "/api/v1/openapi.json").json()["openapi"].startswith("3.1")
    key = apikeys.create_api_key(actor=owner, name="one port", scopes="read").key
    listed = httpx.get(url + "/api/v1/leads", headers={"Authorization": f"Bearer {key}"})
    assert listed.status_code == 200 and listed.json() == {"data": [], "next_cursor": None}
    address = f"{unique('u')}@example.test"
    link = unsubscribe_url(workspace_id=owner.workspace_id, channel="email", address=address, base_url=url)
    response = httpx.post(link, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "no more messages" in response.text
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(Suppression.reason).where(Suppression.address == address)) == "unsubscribed"
    assert httpx.get(url + "/").status_code == 200  # the UI itself, still there
    check = subprocess.run([sys.executable, "-m", "core", "check"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                           text=True, check=False)
    # The test database holds every other test's jobs and campaigns (failures, budgets): what this test pins is
    # that nothing about the web service is a problem on a plain `make run` (it was: "receiver unreachable").
    report = json.loads(check.stdout[: check.stdout.rindex("}") + 1])
    service_problems = [p for p in report["problems"] if p["check"] in ("receiver", "redis", "database")]
    assert service_problems == [], check.stdout + check.stderr
