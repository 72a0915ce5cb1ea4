"""Runs with hostile sites among good ones: a bad site fails with a reason, the others are stored."""

from __future__ import annotations

import gzip
import time

import pytest
from sqlalchemy import select

from core import background
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Campaign, Contact, Lead, Page, PageFetch, RunSite
from core.runs import service as runs
from tests.fixtures.site_server import SiteServer
from tests.fixtures.sites import FixtureResponse, generate_sites
from tests.integration.test_runs import approved_campaign, wait_for_run

DEEP_NESTING = 181_000
DEEP_PAGE = (
    b"<!doctype html><html><head><title>Deep Nest GmbH</title></head><body><p>hello@deep.test</p>"
    + b"<div>" * DEEP_NESTING
    + b"bottom"
    + b"</div>" * DEEP_NESTING
    + b"</body></html>"
)
PLINK_PAGE = (
    b"<!doctype html><html><head><title>Plink Ltd</title></head><body><h1>Plink Ltd</h1>"
    b'<a href="http://xn--a-.plink.test/contact">Contact</a> <a href="/about">About us</a></body></html>'
)


def hostile_routes(host: str, path: str, headers: dict[str, str]) -> FixtureResponse | None:
    """Home pages that redirect to unusable URLs, and a page linking to an invalid host name."""
    if path != "/":
        return None  # robots.txt and the rest: 404 (allow all)
    if host == "redirect-idna.test":
        return FixtureResponse(status=302, headers=(("Location", "http://xn--localhost-/"),))
    if host == "redirect-data.test":
        return FixtureResponse(status=302, headers=(("Location", "data:text/html,hi"),))
    if host == "plink.test":
        return FixtureResponse(body=PLINK_PAGE)
    if host == "deep.test":
        return FixtureResponse(body=DEEP_PAGE)
    if host in ("slow.test", "slower.test"):
        delay = 2.0 if host == "slow.test" else 8.0
        return FixtureResponse(body=b"<html><head><title>Slow Ltd</title></head><body>late</body></html>", delay=delay)
    return None


@pytest.fixture
def hostile_web(monkeypatch):
    """Three good fixture sites and the hostile hosts, with the crawler pointed at them."""
    sites = generate_sites(3, seed=5, quirks=False)
    with SiteServer(sites, routes=hostile_routes) as server:
        env = {
            # Only the fixture names may reach the loopback server: a literal 127.x address stays refused.
            "CRAWL_ALLOW_PRIVATE": "*.test",
            "CRAWL_ALLOWED_PORTS": f"80,443,{server.port}",
            "CRAWL_RESOLVE": "*.test=127.0.0.1",
            "CRAWL_PER_HOST_DELAY": "0",
            "JOB_RETRY_DELAYS": "[0]",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        yield sites, server
    get_settings.cache_clear()


def site_rows(run_id: int) -> dict[str, tuple[str, str]]:
    with UnitOfWork() as uow:
        rows = uow.session.scalars(select(RunSite).where(RunSite.run_id == run_id))
        return {row.url: (row.status, row.error or "") for row in rows}


def test_bad_urls_are_refused_with_a_reason_and_the_good_sites_of_the_batch_are_stored(owner, hostile_web):
    sites, server = hostile_web
    runner = background.EmbeddedRunner(get_settings())
    campaign_id = approved_campaign(owner)
    good = [server.url_of(site) for site in sites]
    plink = f"http://plink.test:{server.port}/"
    hostile = [
        f"http://redirect-idna.test:{server.port}/",
        f"http://redirect-data.test:{server.port}/",
        "http://0177.0.0.1/",
        "http://127.000.000.001/",
    ]
    started = background_run(owner, campaign_id, [*good, plink, *hostile], runner)
    view = wait_for_run(owner, started, timeout=60)
    runner.shutdown()

    assert view.status == "done" and view.failed_jobs == 0, view
    rows = site_rows(started)
    assert {url: rows[url][0] for url in [*good, plink]} == dict.fromkeys([*good, plink], "crawled")
    for url in hostile:
        status, error = rows[url]
        assert status == "failed" and "refused" in error, (url, rows[url])
    assert "non-public" in rows["http://0177.0.0.1/"][1]
    assert "non-public" in rows["http://127.000.000.001/"][1]
    with UnitOfWork() as uow:
        names = set(uow.session.scalars(select(Lead.name).where(Lead.workspace_id == owner.workspace_id)))
        log = {row.url: row.error for row in uow.session.scalars(select(PageFetch).where(PageFetch.run_id == started))}
    assert {site.truth.name for site in sites} | {"Plink Ltd"} <= names
    assert "refused" in log["http://xn--a-.plink.test/contact"]
    assert "refused" in log["http://xn--localhost-/"]
    assert "refused" in log["data:text/html,hi"]


def test_a_batch_that_keeps_failing_ends_its_sites_as_failed_and_the_run_finishes(owner, hostile_web, monkeypatch):
    sites, server = hostile_web
    monkeypatch.setenv("CRAWL_ALLOWED_PORTS", "80,443,not-a-port")  # every attempt of the batch fails
    get_settings.cache_clear()
    runner = background.EmbeddedRunner(get_settings())
    campaign_id = approved_campaign(owner)
    urls = [server.url_of(site) for site in sites]
    started = background_run(owner, campaign_id, urls, runner)
    view = wait_for_run(owner, started, timeout=60)
    runner.shutdown()

    assert view.status == "done" and view.failed_jobs == 1, view
    assert (view.sites_failed, view.sites_queued) == (len(sites), 0)
    for status, error in site_rows(started).values():
        assert status == "failed" and "not-a-port" in error


def test_a_page_nested_181000_deep_is_cut_with_a_reason_and_the_other_sites_are_stored(owner, hostile_web):
    sites, server = hostile_web
    runner = background.EmbeddedRunner(get_settings())
    campaign_id = approved_campaign(owner)
    deep = f"http://deep.test:{server.port}/"
    good = [server.url_of(site) for site in sites]
    started = background_run(owner, campaign_id, [deep, *good], runner)
    view = wait_for_run(owner, started, timeout=60)
    runner.shutdown()

    assert view.status == "done" and view.failed_jobs == 0, view
    assert {status for status, _error in site_rows(started).values()} == {"crawled"}
    with UnitOfWork() as uow:
        leads = {
            lead.domain: lead
            for lead in uow.session.scalars(select(Lead).where(Lead.workspace_id == owner.workspace_id))
        }
        assert {site.truth.name for site in sites} <= {lead.name for lead in leads.values()}
        deep_lead = leads["deep.test"]
        assert deep_lead.name == "Deep Nest GmbH"  # what came before the nesting is kept
        page = uow.session.scalar(select(Page).where(Page.lead_id == deep_lead.id))
        html = gzip.decompress(page.html_gz).decode()
        note = uow.session.scalar(select(PageFetch.error).where(PageFetch.url == deep, PageFetch.run_id == started))
        emails = set(uow.session.scalars(select(Contact.normalised_value).where(Contact.lead_id == deep_lead.id)))
    assert html.count("<div>") == 1000 and "bottom" not in html
    assert "nests deeper than 1,000" in note
    assert emails == {"hello@deep.test"}


def test_a_cancelled_run_stores_nothing_more_and_its_unfinished_sites_end_cancelled(owner, hostile_web, monkeypatch):
    """Issue 18 item 5: before, the slow sites stayed queued for ever and the campaign stayed "running"."""
    sites, server = hostile_web
    monkeypatch.setenv("JOB_RETRIES", "0")  # the first attempt is the last: cancelling is no failure
    get_settings.cache_clear()
    runner = background.EmbeddedRunner(get_settings())
    campaign_id = approved_campaign(owner)
    slow, slower = f"http://slow.test:{server.port}/", f"http://slower.test:{server.port}/"
    started = background_run(owner, campaign_id, [slow, slower, *(server.url_of(site) for site in sites)], runner)
    deadline = time.monotonic() + 30
    while runs.get_run_or_raise(actor=owner, run_id=started).sites_crawled == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    at_cancel = runs.cancel_run(actor=owner, run_id=started)  # while the slow sites are still loading
    view = wait_for_run(owner, started, timeout=60)
    runner.shutdown()

    assert view.status == "cancelled"
    assert site_rows(started)[slower] == ("cancelled", "the run was cancelled")
    assert view.sites_queued == 0 and view.sites_crawled == at_cancel.sites_crawled  # no progress after the cancel
    assert view.sites_cancelled >= 1
    with UnitOfWork() as uow:
        campaign_status = uow.session.get(Campaign, campaign_id).status
        scores = list(uow.session.scalars(select(Lead.score).where(Lead.workspace_id == owner.workspace_id)))
    assert campaign_status != "running"
    assert scores and None not in scores  # the leads stored before the cancel are scored


def background_run(owner, campaign_id: int, urls: list[str], runner) -> int:
    started = runs.start_run_from_urls(actor=owner, campaign_id=campaign_id, urls_text="\n".join(urls), runner=runner)
    assert not started.rejected, started.rejected
    return started.run_id
