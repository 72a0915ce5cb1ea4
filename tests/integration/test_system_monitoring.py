"""The System page's data: RQ registries with tracebacks, requeue/delete for admins, usage and database size."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import make_url

from core import background
from core.config import PROJECT_ROOT, get_settings
from core.db import UnitOfWork
from core.db.models import Campaign, LLMCall, SearchCall
from core.errors import NotFound, PermissionDenied
from core.monitoring import health as system
from core.monitoring import queues, usage
from tests.conftest import make_owner

REDIS_URL = str(make_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0").set(database="10"))


@pytest.fixture
def rq_runner(monkeypatch):
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    get_settings.cache_clear()
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield background.RQRunner(get_settings().model_copy(update={"job_retries": 0}))
    connection.flushdb()
    get_settings.cache_clear()


def burst_worker() -> subprocess.CompletedProcess[str]:
    """A real ``rq worker --burst`` started the way deployment starts it (LeadScout's worker class)."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("rq")), "worker", "--burst", "--worker-class", "workers.tasks.Worker",
         "--url", REDIS_URL, *background.QUEUES],
        cwd=PROJECT_ROOT, env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), REDIS_URL=REDIS_URL),
        capture_output=True, text=True, timeout=60,
    )


def test_failed_rq_job_shows_traceback_and_admins_requeue_or_delete_it(owner, rq_runner):
    job_id = background.submit(kind="system.selftest", args={"steps": 1, "pause": 0, "fail_with": "boom"}, actor=owner,
                         runner=rq_runner)
    done = burst_worker()
    assert done.returncode == 0, done.stderr
    worker_lines = [json.loads(line) for line in (done.stdout + done.stderr).splitlines() if line.startswith("{")]
    assert any(line["role"] == "worker" and line.get("job_id") == job_id for line in worker_lines)
    assert any(line["logger"].startswith("rq.") for line in worker_lines)  # RQ's own lines are JSON too

    [failed] = system.rq_jobs(actor=owner, registry="failed")
    assert failed.job_id == job_id and failed.queue == "default"
    assert "RuntimeError: boom" in failed.traceback
    assert system.rq_jobs(actor=make_owner(), registry="failed") == []  # another workspace sees nothing

    member = dataclasses.replace(owner, role="member")
    with pytest.raises(PermissionDenied, match="admin"):
        system.requeue_rq_job(actor=member, rq_id=failed.rq_id)
    system.requeue_rq_job(actor=owner, rq_id=failed.rq_id)
    assert background.get_job_or_raise(actor=owner, job_id=job_id).status == "queued"
    assert system.rq_jobs(actor=owner, registry="failed") == []
    [default] = [q for q in system.rq_overview()[0] if q.name == "default"]
    assert default.queued == 1 and default.oldest_queued_at is not None

    burst_worker()
    [again] = system.rq_jobs(actor=owner, registry="failed")
    system.delete_rq_job(actor=owner, rq_id=again.rq_id)
    assert system.rq_jobs(actor=owner, registry="failed") == []
    with pytest.raises(NotFound):
        system.delete_rq_job(actor=owner, rq_id=again.rq_id)


def test_workers_are_listed_with_their_heartbeat(rq_runner):
    from rq import Worker

    connection = Redis.from_url(REDIS_URL)
    worker = Worker(["crawl"], connection=connection, name="seen-worker")
    worker.register_birth()
    worker.heartbeat()
    [seen] = queues.workers(connection=connection)
    assert seen.name == "seen-worker" and seen.queues == ("crawl",) and seen.last_heartbeat is not None
    assert not seen.busy


def test_activity_counts_jobs_spend_searches_and_database_size(owner):
    runner = background.EmbeddedRunner(get_settings().model_copy(update={"job_retries": 0}))
    background.submit(kind="system.selftest", args={"steps": 1, "pause": 0}, actor=owner, runner=runner)
    background.submit(kind="system.selftest", args={"steps": 1, "pause": 0, "fail_with": "x"}, actor=owner, runner=runner)
    runner.shutdown()
    with UnitOfWork() as uow:
        campaign = Campaign(workspace_id=owner.workspace_id, name="Bakeries", goal="bread", budget_usd=2.0,
                            budget_tokens=1000)
        uow.session.add(campaign)
        uow.flush()
        uow.session.add(LLMCall(workspace_id=owner.workspace_id, campaign_id=campaign.id, purpose="p", model="m",
                                prompt_version="v", input_tokens=300, output_tokens=200, cost_usd=0.5, cache_key="k"))
        uow.session.add(SearchCall(workspace_id=owner.workspace_id, query="bakeries berlin", results=3))
        uow.commit()
    activity = system.activity(actor=owner)
    assert len(activity.jobs_per_hour) == 24
    latest = activity.jobs_per_hour[-1]
    assert (latest.succeeded, latest.failed) == (1, 1)
    assert (activity.month.llm_calls, activity.month.llm_tokens, activity.month.search_calls) == (1, 500, 1)
    [budget] = activity.month.campaigns
    assert budget.fraction == pytest.approx(0.5)
    assert activity.database_bytes and activity.database_bytes > 0
    assert [p.provider for p in usage.provider_calls(since=activity.month.since, workspace_id=owner.workspace_id)] == [
        "LLM", "Search"]
