"""A site's steps survive a crash: kill the job's process after each step, the retry finishes them all.

A run of pasted fixture sites; the batch (and the summary job it submits) runs in a subprocess
that SIGKILLs itself right after the first site finished step X (``LEADSCOUT_TEST_KILL_AFTER_STEP``).
The test then does what the worker does for a dead work horse (``worker_died``: the next attempt is
planned) and runs the remaining attempts. Every site ends stored once, scored and summarised.
Before run_site.step, a kill after "stored" or "scored" left leads without a score or a summary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from core import background
from core.background.recovery import worker_died
from core.background.runners import current_runner
from core.config import KILL_AFTER_STEP_ENV, PROJECT_ROOT, get_settings
from core.db import UnitOfWork
from core.db.models import SITE_STEPS, Job, Lead, Run, RunSite
from core.runs import service as runs
from core.strategy import service as strategy
from tests.fixtures.leads_data import HoldRunner
from tests.fixtures.openai_server import FakeOpenAI
from tests.fixtures.site_server import SiteServer
from tests.fixtures.sites import generate_sites

SUMMARY = {
    "summary": "A software agency building web shops.",
    "sells": ["web shops"],
    "industry": "software",
    "size_cues": [],
    "location": "",
    "sources": [],
}

# The child keeps the jobs its batch submits and runs them itself (HoldRunner is not imported: its module
# imports tests.conftest, which clears OPENAI_API_KEY, and the summary would never be submitted).
CHILD = """
import sys
from core.background import execute_job
from core.background.runners import current_runner


class Hold:
    name = "hold"
    job_ids = []

    def enqueue(self, job_id, kind):
        self.job_ids.append(job_id)

    def cancel_queued(self, rq_id):
        pass


runner = Hold()
current_runner.set(runner)
execute_job(int(sys.argv[1]))
for job_id in list(runner.job_ids):
    execute_job(job_id)
"""


def _answer(payload):
    schema = payload.get("response_format", {}).get("json_schema", {}).get("schema", {})
    return SUMMARY if "summary" in schema.get("properties", {}) else {"fit": 70, "reasons": []}


@pytest.fixture
def web(monkeypatch):
    sites = generate_sites(4, seed=21, quirks=False)
    with SiteServer(sites) as server, FakeOpenAI() as llm:
        llm.answer_for = _answer
        env = {
            "CRAWL_ALLOW_PRIVATE": "127.0.0.1/32",
            "CRAWL_ALLOWED_PORTS": f"80,443,{server.port}",
            "CRAWL_RESOLVE": "*.test=127.0.0.1",
            "CRAWL_PER_HOST_DELAY": "0",
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": llm.base_url,
            "LLM_MAX_RETRIES": "0",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("REDIS_URL", raising=False)  # the jobs run here and in the child, not on RQ
        get_settings.cache_clear()
        yield sites, server, env
    get_settings.cache_clear()


def _active_jobs(workspace_id: int) -> list[tuple[int, str, int]]:
    with UnitOfWork() as uow:
        return [
            (job.id, job.status, job.attempts)
            for job in uow.session.scalars(
                select(Job).where(Job.workspace_id == workspace_id, Job.status.in_(("queued", "running", "retrying")))
            )
        ]


@pytest.mark.parametrize("step", SITE_STEPS)
def test_a_process_killed_after_each_step_leaves_every_site_scored_and_summarised(owner, web, tmp_path, step):
    sites, server, env = web
    plan = strategy.create_campaign_from_goal(actor=owner, goal="software agencies in Berlin", llm=None)
    strategy.approve(actor=owner, campaign_id=plan.campaign_id, version_id=plan.id)
    hold = HoldRunner()
    started = runs.start_run_from_urls(
        actor=owner, campaign_id=plan.campaign_id, urls_text="\n".join(server.url_of(s) for s in sites), runner=hold
    )
    (batch_id,) = hold.job_ids

    child_env = {**os.environ, **env, KILL_AFTER_STEP_ENV: f"{step}:{tmp_path / 'killed'}", "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(batch_id)], cwd=PROJECT_ROOT, env=child_env, capture_output=True, text=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]
    assert (tmp_path / "killed").exists()

    # What the worker does when its work horse dies, then the attempts that follow.
    token = current_runner.set(hold)
    try:
        for _round in range(6):
            active = _active_jobs(owner.workspace_id)
            if not active:
                break
            for job_id, status, _attempts in active:
                if status == "running":
                    planned = worker_died(job_id, "worker died (signal 9)")
                    assert planned is not None and planned.attempt == _attempts + 1
                    with UnitOfWork() as uow:
                        job = uow.session.get(Job, job_id)
                        assert job.status == "retrying" and job.retry_at is not None
                        assert job.message.startswith("Retrying at ") and job.message.endswith("after: worker died (signal 9)")
                    background.execute_job(job_id, attempt=planned.attempt)
                else:
                    background.execute_job(job_id)
        assert _active_jobs(owner.workspace_id) == []
    finally:
        current_runner.reset(token)

    with UnitOfWork() as uow:
        rows = uow.session.execute(select(RunSite.status, RunSite.step).where(RunSite.run_id == started.run_id)).all()
        leads = uow.session.execute(
            select(Lead.domain, Lead.score, Lead.summary).where(Lead.workspace_id == owner.workspace_id)
        ).all()
        run_status = uow.session.scalar(select(Run.status).where(Run.id == started.run_id))
        failed = uow.session.scalar(
            select(func.count()).select_from(Job).where(Job.workspace_id == owner.workspace_id, Job.status == "failed")
        )
    assert rows and set(rows) == {("crawled", "summarised")}, rows
    assert sorted(domain for domain, _s, _m in leads) == sorted(s.host for s in sites)  # each stored once
    assert all(score is not None for _d, score, _m in leads), leads
    assert all(summary == SUMMARY["summary"] for _d, _s, summary in leads), leads
    assert run_status == "done" and failed == 0
