"""A run end to end: Brave-speaking server → candidates → crawl batches on fixture sites → leads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import background
from core.background import recovery
from core.config import PROJECT_ROOT, get_settings
from core.db import UnitOfWork
from core.db.models import Contact, Evidence, Job, Lead, Page, RunSite, SearchCall, SearchHit
from core.errors import InvalidInput
from core.runs import service as runs
from core.strategy import service as strategy
from tests.fixtures.brave_server import FixtureBrave
from tests.fixtures.site_server import SiteServer
from tests.fixtures.sites import generate_sites

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture
def fixture_web(monkeypatch):
    """Fixture sites and a Brave server, with settings pointing the crawler and search at them."""
    sites = generate_sites(8, seed=11, quirks=False)
    with SiteServer(sites) as server, FixtureBrave([server.url_of(s) for s in sites]) as brave:
        env = {
            "BRAVE_API_KEY": brave.api_key,
            "BRAVE_BASE_URL": brave.base_url,
            "SEARCH_RATE_PER_SECOND": "50",
            "CRAWL_ALLOW_PRIVATE": "127.0.0.1/32",
            "CRAWL_ALLOWED_PORTS": f"80,443,{server.port}",
            "CRAWL_RESOLVE": "*.test=127.0.0.1",
            "CRAWL_PER_HOST_DELAY": "0",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        yield sites, server, brave, env
    get_settings.cache_clear()


def approved_campaign(actor) -> int:
    plan = strategy.create_campaign_from_goal(actor=actor, goal="independent software agencies in Berlin", llm=None)
    strategy.approve(actor=actor, campaign_id=plan.campaign_id, version_id=plan.id)
    return plan.campaign_id


def wait_for_run(actor, run_id: int, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = runs.get_run_or_raise(actor=actor, run_id=run_id)
        if view.status in ("done", "cancelled") and not view.active_jobs:
            return view
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish: {view}")


def lead_counts(workspace_id: int) -> tuple[int, int, int, int]:
    with UnitOfWork() as uow:
        count = lambda model: uow.session.scalar(select(func.count()).select_from(model).where(model.workspace_id == workspace_id))  # noqa: E731
        return count(Lead), count(Contact), count(Evidence), count(Page)


def test_a_run_turns_search_results_into_analysed_leads_once(owner, fixture_web):
    sites, _server, brave, _env = fixture_web
    runner = background.EmbeddedRunner(get_settings())
    campaign_id = approved_campaign(owner)

    started = runs.start_run(actor=owner, campaign_id=campaign_id, runner=runner)
    view = wait_for_run(owner, started.run_id)
    assert view.status == "done", view
    assert view.sites_total == len(sites)  # the social network and the directory were dropped
    assert view.sites_crawled == len(sites) and view.leads_created == len(sites)
    assert view.hits > 0 and not view.errors

    with UnitOfWork() as uow:
        leads = {lead.domain: lead.name for lead in uow.session.scalars(select(Lead).where(Lead.workspace_id == owner.workspace_id))}
        emails = {
            (domain, value)
            for domain, value in uow.session.execute(
                select(Lead.domain, Contact.normalised_value).join(Contact, Contact.lead_id == Lead.id)
                .where(Lead.workspace_id == owner.workspace_id, Contact.kind == "email")
            )
        }
        calls = uow.session.scalar(select(func.count()).select_from(SearchCall).where(SearchCall.run_id == started.run_id))
    assert set(leads) == {site.host for site in sites}
    for site in sites:
        assert leads[site.host] == site.truth.name
        for email in site.truth.emails:
            assert (site.host, email) in emails
    assert calls == len(brave.served)
    before = lead_counts(owner.workspace_id)

    again = runs.start_run(actor=owner, campaign_id=campaign_id, runner=runner)
    second = wait_for_run(owner, again.run_id)
    assert second.sites_total == 0  # every domain is already a lead
    assert lead_counts(owner.workspace_id) == before
    runner.shutdown()


def test_pasted_urls_run_reports_bad_lines_and_crawls_the_rest(owner, fixture_web):
    sites, server, _brave, _env = fixture_web
    runner = background.EmbeddedRunner(get_settings())
    campaign_id = approved_campaign(owner)
    text = "\n".join([server.url_of(sites[0]), "not a url at all", "ftp://files.example.com", server.url_of(sites[1])])
    started = runs.start_run_from_urls(actor=owner, campaign_id=campaign_id, urls_text=text, runner=runner)
    assert [line for line, _text, _why in started.rejected] == [2, 3]
    view = wait_for_run(owner, started.run_id)
    assert (view.sites_crawled, view.leads_created) == (2, 2)
    with pytest.raises(InvalidInput, match="None of the pasted lines"):
        runs.start_run_from_urls(actor=owner, campaign_id=campaign_id, urls_text="nope\n", runner=runner)
    runner.shutdown()


def test_a_run_needs_an_approved_strategy_and_a_search_key(owner, monkeypatch):
    plan = strategy.create_campaign_from_goal(actor=owner, goal="bakeries in Lyon", llm=None)
    monkeypatch.setenv("BRAVE_API_KEY", "k")
    get_settings.cache_clear()
    with pytest.raises(InvalidInput, match="Approve a strategy version first"):
        runs.start_run(actor=owner, campaign_id=plan.campaign_id)
    monkeypatch.setenv("BRAVE_API_KEY", "")
    get_settings.cache_clear()
    with pytest.raises(InvalidInput, match="Brave Search is not configured"):
        runs.start_run(actor=owner, campaign_id=plan.campaign_id)
    get_settings.cache_clear()


# --- RQ: a worker killed in the middle of a batch -------------------------------------------------


def _worker(env: dict[str, str]) -> subprocess.Popen[str]:
    rq_bin = Path(sys.executable).with_name("rq")
    return subprocess.Popen(
        [str(rq_bin), "worker", "--burst", "--url", REDIS_URL, "default", "crawl", "llm"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _jobs_of(workspace_id: int) -> list[tuple[int, str, str, int, object, str]]:
    with UnitOfWork() as uow:
        rows = uow.session.scalars(select(Job).where(Job.workspace_id == workspace_id).order_by(Job.id))
        return [(j.id, j.kind, j.status, j.attempts, j.heartbeat_at, j.error) for j in rows]


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(owner, fixture_web, monkeypatch):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import Queue

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    sites, server, _brave, env = fixture_web
    for name in background.QUEUES:
        Queue(name, connection=connection).empty()
    worker_env = {**os.environ, **env}
    worker_env.update(REDIS_URL=REDIS_URL, PYTHONPATH=str(PROJECT_ROOT), CRAWL_GLOBAL_CONCURRENCY="1",
                      CRAWL_PER_HOST_CONCURRENCY="1", CRAWL_PER_HOST_DELAY="0.3", JOB_RETRY_DELAYS="[0]", JOB_LEASE_SECONDS="2")
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("JOB_RETRY_DELAYS", "[0]")
    monkeypatch.setenv("JOB_LEASE_SECONDS", "2")
    get_settings.cache_clear()
    rq_runner = background.RQRunner(get_settings(), redis_url=REDIS_URL)
    campaign_id = approved_campaign(owner)
    started = runs.start_run(actor=owner, campaign_id=campaign_id, runner=rq_runner)
    # jobs submitted by the search job inside the worker use the worker's settings (RQ)

    first = _worker(worker_env)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            view = runs.get_run_or_raise(actor=owner, run_id=started.run_id)
            if 1 <= view.sites_crawled < len(sites):
                break
            time.sleep(0.05)
        assert 1 <= view.sites_crawled < len(sites), view
        horses = _children(first.pid)  # RQ puts its work horse in a process group of its own
        assert horses, "the worker had no work horse mid-batch"
        os.killpg(first.pid, signal.SIGKILL)  # the whole worker and its work horse, mid-batch
        for pid in horses:
            os.kill(pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)

    # The whole worker died, so nothing in it planned the retry: the batch's lease (JOB_LEASE_SECONDS=2
    # here) lapses and the lost-jobs sweep, which every worker runs, makes it "retrying" (worker lost).
    lost: list[int] = []
    deadline = time.monotonic() + 30
    while not lost and time.monotonic() < deadline:
        lost = recovery.sweep_lost_jobs()
        time.sleep(0.2)
    assert len(lost) == 1, _jobs_of(owner.workspace_id)
    with UnitOfWork() as uow:
        job = uow.session.get(Job, lost[0])
        assert job is not None and job.kind == "runs.crawl_batch"
        assert job.status == "retrying" and job.attempts == 1 and job.retry_at is not None
        assert "worker lost" in job.error
    second = _worker(worker_env)
    second.wait(120)
    assert second.returncode == 0, second.stderr.read()[-2000:] if second.stderr else ""

    view = runs.get_run_or_raise(actor=owner, run_id=started.run_id)
    assert view.status == "done", view
    assert view.sites_crawled == len(sites)
    with UnitOfWork() as uow:
        domains = list(uow.session.scalars(select(Lead.domain).where(Lead.workspace_id == owner.workspace_id)))
        unscored = uow.session.scalar(
            select(func.count()).select_from(Lead).where(Lead.workspace_id == owner.workspace_id, Lead.score.is_(None))
        )
        statuses = set(uow.session.scalars(select(RunSite.status).where(RunSite.run_id == started.run_id)))
        hits = uow.session.scalar(select(func.count()).select_from(SearchHit).where(SearchHit.run_id == started.run_id))
    assert sorted(domains) == sorted(site.host for site in sites)  # each exactly once
    assert statuses == {"crawled"}
    assert unscored == 0  # the sites stored before the kill were scored by the retry too
    assert hits > 0
    get_settings.cache_clear()
