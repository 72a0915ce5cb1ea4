"""``python -m core run --workspace NAME --urls FILE [--goal TEXT] --wait --json``: a list of websites analysed
from a script (issue 21 item 5), as a real subprocess on the test database with the jobs in that process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from core.config import PROJECT_ROOT, get_settings
from core.db import UnitOfWork
from core.db.models import Campaign, Lead, StrategyVersion
from tests.fixtures.site_server import SiteServer
from tests.fixtures.sites import generate_sites


@pytest.fixture
def web():
    sites = generate_sites(5, seed=5, quirks=False)
    with SiteServer(sites) as server:
        env = dict(
            os.environ,
            CRAWL_ALLOW_PRIVATE="127.0.0.1/32",
            CRAWL_ALLOWED_PORTS=f"80,443,{server.port}",
            CRAWL_RESOLVE="*.test=127.0.0.1",
            CRAWL_PER_HOST_DELAY="0",
            PYTHONPATH=str(PROJECT_ROOT),
        )
        env.pop("REDIS_URL", None)  # the jobs run in the command's own process
        yield sites, server, env
    get_settings.cache_clear()


def core_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", "run", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )


def test_a_file_of_websites_is_analysed_and_the_last_output_is_one_json_object(owner, web, tmp_path):
    sites, server, env = web
    urls = tmp_path / "berlin-shops.txt"
    urls.write_text("\n".join(server.url_of(s) for s in sites) + "\n")
    done = core_run(env, "--workspace", owner.workspace_name, "--urls", str(urls), "--wait", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)  # the whole of stdout: one JSON object
    assert result["status"] == "done"
    assert (result["sites"], result["sites_stored"], result["sites_failed"]) == (5, 5, 0)
    assert result["leads_scored"] == 5 and result["leads_created"] == 5
    with UnitOfWork() as uow:
        campaign = uow.session.get(Campaign, result["campaign_id"])
        assert campaign is not None and campaign.workspace_id == owner.workspace_id
        assert campaign.name == "berlin-shops.txt" and campaign.status == "done"
        version = uow.session.get(StrategyVersion, campaign.approved_version_id)
        assert version is not None and version.data["rubric"] == [{"factor": "Reachable contact", "weight": 100}]
        scores = list(uow.session.scalars(select(Lead.score).where(Lead.workspace_id == owner.workspace_id)))
    assert len(scores) == 5 and None not in scores


def test_some_sites_failing_exit_3_and_a_goal_plans_the_strategy(owner, web, tmp_path):
    sites, server, env = web
    urls = tmp_path / "agencies.txt"
    dead = f"http://no-such-company.test:{server.port}/"  # the fixture server answers 404 for an unknown host
    urls.write_text("\n".join([server.url_of(sites[0]), dead, "not a website at all"]))
    done = core_run(
        env, "--workspace", owner.workspace_name, "--urls", str(urls), "--goal", "software agencies in Berlin",
        "--wait", "--json",
    )
    assert done.returncode == 3, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["status"] == "done"
    assert (result["sites_stored"], result["sites_failed"]) == (1, 1)
    assert [r["line"] for r in result["rejected"]] == [3]
    with UnitOfWork() as uow:
        campaign = uow.session.get(Campaign, result["campaign_id"])
        assert campaign is not None and campaign.name == "agencies.txt"
        assert campaign.goal == "software agencies in Berlin"


def test_errors_exit_1(owner, web, tmp_path):
    _sites, _server, env = web
    urls = tmp_path / "list.txt"
    urls.write_text("https://example-shop.test\n")
    missing = core_run(env, "--workspace", "no such workspace anywhere", "--urls", str(urls), "--wait", "--json")
    assert missing.returncode == 1 and "no such workspace anywhere" in missing.stderr
    nothing = core_run(env, "--workspace", owner.workspace_name, "--wait", "--json")
    assert nothing.returncode == 1 and "--urls" in nothing.stderr
