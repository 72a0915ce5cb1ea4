"""Scale-out on PostgreSQL and Redis: two real workers started with the Procfile's command crawl a run of 40
local sites; one work horse is SIGKILLed mid-batch, then a whole worker, and a replacement starts (issue 21).

Every site is stored once, every lead scored and summarised, the run ends ``done``; the killed horse's batch
retries at the configured (test-sized) delay, and the dead worker's batch is found by its lapsed lease
("worker lost", issue 19 item 11) instead of RQ's abandoned-job detection (about 14 minutes).
Skipped without PostgreSQL (``DATABASE_URL``) or a reachable Redis, like the other RQ tests (fails in CI).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core import background
from core.config import PROJECT_ROOT, get_settings
from core.db import UnitOfWork
from core.db.models import Job, Lead, RunSite, utcnow
from core.runs import service as runs
from core.strategy import service as strategy
from tests.fixtures.openai_server import FakeOpenAI
from tests.fixtures.site_server import SiteServer
from tests.fixtures.sites import generate_sites

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
RETRY_DELAY, LEASE = 2, 10  # test-sized; the lease tolerates a loaded 2-core machine
SUMMARY = {
    "summary": "A software agency building web shops.",
    "sells": ["web shops"],
    "industry": "software",
    "size_cues": [],
    "location": "",
    "sources": [],
}


def _procfile_worker_command() -> list[str]:
    line = next(line for line in (PROJECT_ROOT / "Procfile").read_text().splitlines() if line.startswith("worker:"))
    words = shlex.split(line.partition(":")[2].replace("$REDIS_URL", REDIS_URL))
    return [str(Path(os.sys.executable).with_name(words[0])), *words[1:]]


def _horse_of(worker_pid: int) -> int | None:
    """The worker's work horse: its child in a process group of its own (RQ's scheduler child is not)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid, pgid = int(entry.name), int(fields[1]), int(fields[2])
        if ppid == worker_pid and pgid == pid:
            return pid
    return None


def _batch_of(worker_pid: int) -> Job | None:
    with UnitOfWork() as uow:
        for job in uow.session.scalars(select(Job).where(Job.kind == "runs.crawl_batch", Job.status == "running")):
            if f":{worker_pid}:" in (job.runner or ""):
                uow.session.expunge(job)
                return job
    return None


def _wait(predicate, what: str, timeout: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def stack(monkeypatch, tmp_path):
    if not get_settings().resolved_database_url.startswith("postgresql"):
        if os.environ.get("CI") and os.environ.get("REDIS_URL"):
            # CI's PostgreSQL suite sets REDIS_URL; there this test must run, not skip.
            pytest.fail("the scale-out test needs PostgreSQL in CI's PostgreSQL suite")
        pytest.skip("the scale-out test needs PostgreSQL (DATABASE_URL); CI runs it in the PostgreSQL suite")
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    connection.flushdb()
    sites = generate_sites(40, seed=21, quirks=False)
    with SiteServer(sites, latency=True) as server, FakeOpenAI() as llm:
        llm.answer_for = lambda payload: (
            SUMMARY
            if "summary" in payload.get("response_format", {}).get("json_schema", {}).get("schema", {}).get("properties", {})
            else {"fit": 70, "reasons": []}
        )
        env = {
            "REDIS_URL": REDIS_URL,
            "CRAWL_ALLOW_PRIVATE": "127.0.0.1/32",
            "CRAWL_ALLOWED_PORTS": f"80,443,{server.port}",
            "CRAWL_RESOLVE": "*.test=127.0.0.1",
            "CRAWL_PER_HOST_DELAY": "0",
            "CRAWL_GLOBAL_CONCURRENCY": "2",
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": llm.base_url,
            "LLM_MAX_RETRIES": "0",
            "JOB_RETRY_DELAYS": f"[{RETRY_DELAY}]",
            "JOB_LEASE_SECONDS": str(LEASE),
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        workers: list[subprocess.Popen[bytes]] = []

        def start_worker(name: str) -> subprocess.Popen[bytes]:
            log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            worker = subprocess.Popen(
                _procfile_worker_command(), cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            workers.append(worker)
            return worker

        try:
            yield sites, server, start_worker
        finally:
            for worker in workers:
                horse = _horse_of(worker.pid)
                for pid in (horse, worker.pid):
                    if pid:
                        try:
                            os.killpg(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                worker.wait(10)
            connection.flushdb()
    get_settings.cache_clear()


def test_two_workers_lose_nothing_when_a_horse_and_then_a_whole_worker_are_killed(owner, stack):
    sites, server, start_worker = stack
    first, second = start_worker("first"), start_worker("second")
    plan = strategy.create_campaign_from_goal(actor=owner, goal="software agencies in Berlin", llm=None)
    strategy.approve(actor=owner, campaign_id=plan.campaign_id, version_id=plan.id)
    started = runs.start_run_from_urls(
        actor=owner, campaign_id=plan.campaign_id, urls_text="\n".join(server.url_of(s) for s in sites),
        runner=background.RQRunner(get_settings()),
    )

    def stored() -> int:
        return runs.get_run_or_raise(actor=owner, run_id=started.run_id).sites_crawled

    # 1. a work horse dies mid-batch: its worker plans the retry at once, at the configured delay
    horse_batch = _wait(lambda: stored() >= 1 and _horse_of(first.pid) and _batch_of(first.pid), "a busy first worker")
    killed_at = utcnow()
    os.kill(_horse_of(first.pid) or 0, signal.SIGKILL)
    retrying = _wait(lambda: _job(horse_batch.id) if _job(horse_batch.id).status != "running" else None, "the retry")
    assert retrying.status == "retrying" and retrying.error == "worker died (signal 9)", retrying
    assert retrying.retry_at is not None and retrying.attempts == 1
    assert killed_at + timedelta(seconds=RETRY_DELAY) <= retrying.retry_at <= utcnow() + timedelta(seconds=RETRY_DELAY)

    # 2. a whole worker dies (with its horse) mid-batch; a replacement starts
    lost_batch = _wait(lambda: _horse_of(second.pid) and _batch_of(second.pid), "a busy second worker")
    horse = _horse_of(second.pid)
    os.killpg(second.pid, signal.SIGKILL)
    if horse:
        os.kill(horse, signal.SIGKILL)
    second.wait(10)
    start_worker("replacement")

    view = _wait(
        lambda: (v := runs.get_run_or_raise(actor=owner, run_id=started.run_id)).status == "done" and not v.active_jobs
        and v,
        "the run to end",
        timeout=300,
    )
    assert (view.sites_total, view.sites_crawled, view.sites_failed, view.failed_jobs) == (40, 40, 0, 0), view
    lost = _job(lost_batch.id)
    assert lost.status == "succeeded" and lost.attempts >= 2 and "worker lost" in lost.error, lost
    again = _job(horse_batch.id)
    assert again.status == "succeeded" and again.attempts >= 2, again
    with UnitOfWork() as uow:
        leads = uow.session.execute(
            select(Lead.domain, Lead.score, Lead.summary).where(Lead.workspace_id == owner.workspace_id)
        ).all()
        steps = set(uow.session.scalars(select(RunSite.step).where(RunSite.run_id == started.run_id)))
    assert sorted(domain for domain, _s, _m in leads) == sorted(s.host for s in sites)  # each stored once
    assert [d for d, score, _m in leads if score is None] == []
    assert [d for d, _s, summary in leads if summary != SUMMARY["summary"]] == []
    assert steps == {"summarised"}


def _job(job_id: int) -> Job:
    with UnitOfWork() as uow:
        job = uow.session.get(Job, job_id)
        assert job is not None
        uow.session.expunge(job)
        return job
