"""Storing search hits and the crawl log; repeating a store adds nothing twice."""

from __future__ import annotations

from sqlalchemy import func, select

from core.crawl.models import CrawlLogEntry, FetchedPage
from core.crawl.repository import add_crawl_log, save_pages
from core.db.models import Campaign, Lead, Page, PageFetch, Run, SearchHit, StrategyVersion
from core.search.models import SearchResult
from core.search.repository import add_search_hits, known_domains


def test_hits_log_and_pages_are_stored_once(uow, owner) -> None:  # type: ignore[no-untyped-def]
    ws = owner.workspace_id
    with uow:
        campaign = Campaign(workspace_id=ws, name="c", goal="g")
        uow.session.add(campaign)
        uow.flush()
        version = StrategyVersion(workspace_id=ws, campaign_id=campaign.id, version=1, mode="heuristic", data={})
        uow.session.add(version)
        uow.flush()
        run = Run(workspace_id=ws, campaign_id=campaign.id, strategy_version_id=version.id)
        lead = Lead(workspace_id=ws, domain="acme.com")
        uow.session.add_all([run, lead])
        uow.flush()
        results = [SearchResult(query="q", rank=i, url=f"https://www.site{i}.com/") for i in (1, 2)]
        assert add_search_hits(uow, workspace_id=ws, run_id=run.id, results=results) == 2
        assert add_search_hits(uow, workspace_id=ws, run_id=run.id, results=results) == 0
        entry = CrawlLogEntry(url="https://acme.com/", status=200, bytes=10, elapsed_ms=5, robots="allowed")
        assert add_crawl_log(uow, workspace_id=ws, entries=[entry], run_id=run.id, lead_id=lead.id) == 1
        page = FetchedPage(
            url="https://acme.com/",
            final_url="https://acme.com/",
            kind="home",
            status=200,
            html="<html>hi</html>",
            content_hash="h1",
        )
        assert save_pages(uow, workspace_id=ws, lead_id=lead.id, pages=[page]) == 1
        assert save_pages(uow, workspace_id=ws, lead_id=lead.id, pages=[page]) == 0
        uow.commit()
        run_id, lead_id = run.id, lead.id
    with uow:
        assert uow.session.scalar(select(func.count()).where(SearchHit.run_id == run_id)) == 2
        assert (
            uow.session.scalar(select(SearchHit.domain).where(SearchHit.rank == 1, SearchHit.run_id == run_id))
            == "site1.com"
        )
        assert uow.session.scalar(select(func.count()).where(PageFetch.lead_id == lead_id)) == 1
        assert uow.session.scalar(select(func.count()).where(Page.lead_id == lead_id)) == 1
        assert known_domains(uow, workspace_id=ws) == {"acme.com"}
