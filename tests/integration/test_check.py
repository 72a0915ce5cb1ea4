"""``python -m core check`` on a fresh database: healthy exits 0; broken exits 1 with reasons and notifies."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from redis import Redis
from rq import Queue, Worker
from sqlalchemy import create_engine, make_url, text

from core.background import QUEUES
from core.config import PROJECT_ROOT, get_settings
from core.db import UnitOfWork, migrate
from core.db.models import Campaign, Job, LLMCall, Workspace, utcnow
from core.db.session import build_engine
from tests.conftest import TEST_TMP
from tests.fixtures.outreach_servers import free_port

REDIS_URL = str(make_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0").set(database="11"))


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A newly migrated database of the same kind as the test database, so global checks see only this test."""
    base = get_settings().resolved_database_url
    if base.startswith("sqlite"):
        url = f"sqlite:///{TEST_TMP / f'check-{secrets.token_hex(4)}.db'}"
        migrate.upgrade(url)
        yield url
        return
    name = f"leadscout_check_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def redis() -> Iterator[Redis]:
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def receiver_url() -> Iterator[str]:
    """The real receiver app served by uvicorn on a free port."""
    import uvicorn

    from workers.receiver import app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


class Hook(BaseHTTPRequestHandler):
    """A Slack-compatible incoming webhook that keeps what it received."""

    received: list[dict] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")


def run_check(database_url: str, receiver: str, *extra: str, webhook: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "RECEIVER_URL": receiver,
           "ALERT_WEBHOOK_URL": webhook, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", "core", "check", *extra], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)


def test_healthy_system_exits_zero(fresh_database, redis, receiver_url):
    worker = Worker(list(QUEUES), connection=redis, name=f"test-{secrets.token_hex(3)}")
    worker.register_birth()
    done = run_check(fresh_database, receiver_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == {"ok": True, "problems": []}


def break_everything(database_url: str, redis: Redis) -> None:
    """A stuck queue with no worker, a failing LLM provider, a nearly spent budget, failures, a stale job."""
    job = Queue("crawl", connection=redis).enqueue("workers.tasks.run_job", 0, "core.monitoring.jobs:selftest")
    job.enqueued_at = utcnow() - timedelta(minutes=45)
    job.save()
    now = utcnow()
    engine = build_engine(database_url)
    with UnitOfWork(engine) as uow:
        workspace = Workspace(name="Acme")
        uow.session.add(workspace)
        uow.flush()
        campaign = Campaign(workspace_id=workspace.id, name="Roasters", goal="coffee", budget_usd=1.0)
        uow.session.add(campaign)
        uow.flush()
        uow.session.add(LLMCall(workspace_id=workspace.id, campaign_id=campaign.id, purpose="score", model="m",
                                prompt_version="v1", cost_usd=0.95, cache_key="k"))
        for _ in range(6):
            uow.session.add(LLMCall(workspace_id=workspace.id, purpose="score", model="m", prompt_version="v1",
                                    cache_key="k", error="LLM server failed (HTTP 500)"))
        for status in ("failed",) * 5 + ("succeeded",):
            uow.session.add(Job(workspace_id=workspace.id, kind="system.selftest", status=status, finished_at=now))
        uow.session.add(Job(workspace_id=workspace.id, kind="system.selftest", status="running",
                            heartbeat_at=now - timedelta(hours=1)))
        uow.commit()
    engine.dispose()


def test_broken_system_exits_non_zero_with_reasons_and_notifies(fresh_database, redis):
    break_everything(fresh_database, redis)
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    Hook.received = []
    closed = f"http://127.0.0.1:{free_port()}"
    try:
        done = run_check(fresh_database, closed, "--notify", webhook=f"http://127.0.0.1:{hook.server_port}/hook")
    finally:
        hook.shutdown()
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    found = {problem["check"] for problem in report["problems"]}
    assert found == {"receiver", "workers", "queue", "provider", "failures", "budget", "stale"}
    assert "Queue 'crawl' is stuck" in done.stderr
    assert "LLM keeps failing: 6 of 7 calls" in done.stderr
    assert "95% of its LLM budget" in done.stderr
    [posted] = Hook.received
    assert "7 problem(s)" in posted["text"] and "No RQ worker is alive" in posted["text"]


def test_notify_without_a_webhook_is_a_clear_error(fresh_database, redis):
    done = run_check(fresh_database, "", "--notify")
    assert done.returncode == 1
    assert "ALERT_WEBHOOK_URL is not set" in done.stderr
