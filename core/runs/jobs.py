"""The job functions of a run: search, crawl-and-analyse a batch of sites, summarise with the LLM.

Each is safe to run twice: hits are unique per (run, query, url), a site is crawled once per run
(``run_site`` status), leads are unique per (workspace, domain), pages per (lead, url) and
evidence per (lead, fact), so a batch that runs again after a crash only does what is left.

A site goes through its steps (``SITE_STEPS``: fetched, extracted, stored, scored, summarised);
``run_site.step`` records the last durable one, and every attempt of a batch finishes every
unfinished step of every site in it: it crawls the sites still queued, scores every stored site
that has no score yet (not only those it stored itself) and hands every scored one to the summary.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os
import signal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from core import background
from core.config import crash_hook_for_tests, get_settings
from core.crawl.models import SiteCrawl
from core.crawl.override import resolver_from_settings
from core.crawl.repository import add_crawl_log, save_pages
from core.crawl.site import build_fetcher, crawl_sites_async
from core.db import UnitOfWork
from core.db.models import Campaign, Lead, Page, Run, RunSite, SearchCall, StrategyVersion, utcnow
from core.errors import QuotaExceeded, SearchError
from core.extract.models import PageInput
from core.extract.profile import extract_site
from core.extract.summary import summarize_with_llm
from core.leads.repository import add_evidence, apply_profile, upsert_lead
from core.llm import get_llm
from core.runs.service import submit_batches
from core.scoring.service import score_leads
from core.search.brave import build_search_client
from core.search.candidates import DEFAULT_BLOCKLIST, parse_blocklist, select_candidates
from core.search.models import SearchResult
from core.search.repository import add_search_hits, known_domains
from core.strategy.models import parse_strategy
from core.webhooks import events as webhooks

log = logging.getLogger(__name__)


def _after_step(step: str) -> None:
    """A test's crash point: the process dies as a SIGKILLed work horse would, between two steps."""
    spec = crash_hook_for_tests()  # "STEP:PATH": die after STEP, once (PATH marks it done)
    wanted, _, marker = spec.partition(":")
    if wanted != step or not marker:
        return
    try:
        Path(marker).touch(exist_ok=False)
    except FileExistsError:
        return
    log.warning("test hook: SIGKILL after step %s", step)
    os.kill(os.getpid(), signal.SIGKILL)


def _redis() -> Any | None:
    url = get_settings().redis_url
    if not url:
        return None
    # imported here: only deployments with REDIS_URL load redis (about 0.2 s)
    from redis import Redis

    return Redis.from_url(url)


def search_job(ctx: background.JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Run every query of the approved strategy, store hits, queue candidates in crawl batches."""

    settings = get_settings()
    run_id = int(args["run_id"])
    with UnitOfWork() as uow:
        run = uow.session.get(Run, run_id)
        if run is None or run.status == "cancelled":
            return {"skipped": "run cancelled or deleted"}
        workspace_id = run.workspace_id
        version = uow.session.get(StrategyVersion, run.strategy_version_id)
        queries = [q.text for q in parse_strategy(version.data if version else {}).queries]
    client = build_search_client(settings=settings, redis=_redis())
    results: list[SearchResult] = []
    errors: list[str] = []
    try:
        for index, query in enumerate(queries):
            ctx.check_cancelled()
            try:
                found = client.search(query, count=min(settings.search_results_per_query, 20))
            except QuotaExceeded as error:
                errors.append(str(error))
                _record_search(workspace_id, run_id, query, 0, str(error))
                break
            except SearchError as error:
                errors.append(f"{query!r}: {error}")
                _record_search(workspace_id, run_id, query, 0, str(error))
                continue
            with UnitOfWork() as uow:
                add_search_hits(uow, workspace_id=workspace_id, run_id=run_id, results=found)
                uow.session.add(
                    SearchCall(workspace_id=workspace_id, run_id=run_id, query=query[:500], results=len(found))
                )
                uow.commit()
            results.extend(found)
            ctx.progress(index + 1, len(queries), f"Searched {index + 1} of {len(queries)} queries")
    finally:
        client.close()
    if errors and not results:
        raise SearchError("Every search failed: " + "; ".join(errors[:3]))
    blocklist = DEFAULT_BLOCKLIST | parse_blocklist(settings.search_blocklist)
    with UnitOfWork() as uow:
        already = set(uow.session.scalars(select(RunSite.domain).where(RunSite.run_id == run_id)))
        candidates = select_candidates(
            results, known_domains=known_domains(uow, workspace_id=workspace_id) | already, blocklist=blocklist
        )
        for candidate in candidates:
            uow.session.add(
                RunSite(workspace_id=workspace_id, run_id=run_id, domain=candidate.domain, url=candidate.url)
            )
        run = uow.session.get(Run, run_id)
        queued = list(
            uow.session.scalars(select(RunSite.domain).where(RunSite.run_id == run_id, RunSite.status == "queued"))
        )
        queued.extend(c.domain for c in candidates)
        if run is not None and run.status != "cancelled":
            run.status = "crawling" if queued else "done"
            run.finished_at = None if queued else utcnow()
            run.stats = {**(run.stats or {}), "search_errors": errors}
            if not queued:
                webhooks.emit(uow, workspace_id=workspace_id, event="run.finished", data=run_data(run))
        uow.commit()
    batches = submit_batches(workspace_id=workspace_id, run_id=run_id, domains=sorted(set(queued)))
    return {
        "queries": len(queries),
        "hits": len(results),
        "candidates": len(candidates),
        "batches": batches,
        "errors": errors,
    }


def _record_search(workspace_id: int, run_id: int, query: str, results: int, error: str) -> None:
    with UnitOfWork() as uow:
        uow.session.add(
            SearchCall(workspace_id=workspace_id, run_id=run_id, query=query[:500], results=results, error=error)
        )
        uow.commit()


def store_site(*, workspace_id: int, run_id: int, campaign_id: int | None, domain: str, site: SiteCrawl) -> int | None:
    """Store one crawled site: lead, pages, crawl log, extracted fields; returns the lead id."""
    with UnitOfWork() as uow:
        row = uow.session.scalar(select(RunSite).where(RunSite.run_id == run_id, RunSite.domain == domain))
        if row is None or row.status != "queued":
            return row.lead_id if row else None
        # FOR SHARE: a cancel (which updates the run) waits for the stores under way, and a store waits for it.
        run = uow.session.get(Run, run_id, with_for_update={"read": True})
        if run is None or run.status == "cancelled":
            # A batch still crawling when the run was cancelled stores nothing more (issue 18 item 5).
            row.status, row.error = "cancelled", "the run was cancelled"
            uow.commit()
            return None
        html_pages = [p for p in site.pages if p.html]
        if not html_pages:
            add_crawl_log(uow, workspace_id=workspace_id, entries=site.log, run_id=run_id)
            row.status, row.error = "failed", (site.error or "the home page could not be fetched")[:2000]
            uow.commit()
            return None
        # a lead already known to be in a country (a CSV row said so) reads its site's phone numbers in it
        known_country = uow.session.scalar(
            select(Lead.country).where(Lead.workspace_id == workspace_id, Lead.domain == domain)
        )
        profile = extract_site(
            [
                PageInput(url=p.final_url or p.url, html=p.html or "", kind=p.kind, html_utf8=p.html_utf8)
                for p in html_pages
            ],
            region=known_country or "",
        )
        _after_step("extracted")
        # Claim the site with the first write (after the CPU-bound extraction). On SQLite it opens the transaction
        # (pysqlite begins one only at a write, and a savepoint released outside one commits on its own: the lead
        # was kept for a site cancelled meanwhile) and takes the lock: a cancel committed since the reads above is
        # seen here, and a later one waits until this site is stored.
        claimed = cast(
            CursorResult[Any],
            uow.session.execute(
                update(RunSite)
                .where(RunSite.id == row.id, RunSite.status == "queued")
                .values(error=RunSite.error)
                .execution_options(synchronize_session=False)
            ),
        )
        if claimed.rowcount != 1:
            return None
        lead, created = upsert_lead(
            uow,
            workspace_id=workspace_id,
            domain=domain,
            website=site.final_url or site.start_url,
            name=profile.name,
            source="search" if row.source == "search" else row.source,
            campaign_id=campaign_id,
        )
        if lead is None:
            row.status, row.error = "skipped", "this company was deleted from the workspace before"
            uow.commit()
            return None
        uow.flush()
        save_pages(uow, workspace_id=workspace_id, lead_id=lead.id, pages=site.pages)
        add_crawl_log(uow, workspace_id=workspace_id, entries=site.log, run_id=run_id, lead_id=lead.id)
        apply_profile(uow, lead=lead, profile=profile)
        row.status, row.lead_id, row.lead_created, row.step = "crawled", lead.id, created, "stored"
        lead_id = lead.id
        if created:
            webhooks.emit(uow, workspace_id=workspace_id, event="lead.created", data=webhooks.lead_data(lead))
        uow.commit()
    _after_step("stored")
    return lead_id


def crawl_batch_job(ctx: background.JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Crawl and analyse the batch's sites that this run has not crawled yet."""
    settings = get_settings()
    run_id, domains = int(args["run_id"]), list(args["domains"])
    with UnitOfWork() as uow:
        run = uow.session.get(Run, run_id)
        if run is None or run.status == "cancelled":
            return {"skipped": "run cancelled or deleted"}
        workspace_id, campaign_id = run.workspace_id, run.campaign_id
        todo = {
            row.url: row.domain
            for row in uow.session.scalars(
                select(RunSite).where(RunSite.run_id == run_id, RunSite.domain.in_(domains), RunSite.status == "queued")
            )
        }
    done = len(domains) - len(todo)
    ctx.progress(done, len(domains), f"Crawling {len(todo)} sites")

    async def on_site(site: SiteCrawl) -> None:
        nonlocal done
        _after_step("fetched")
        await asyncio.to_thread(
            store_site_or_fail,
            workspace_id=workspace_id,
            run_id=run_id,
            campaign_id=campaign_id,
            domain=todo[site.start_url],
            site=site,
        )
        done += 1
        await asyncio.to_thread(ctx.progress, done, len(domains), f"Crawled {done} of {len(domains)} sites")

    async def crawl() -> None:
        async with build_fetcher(settings=settings, resolver=resolver_from_settings(settings.crawl_resolve)) as fetcher:
            await crawl_sites_async(list(todo), fetcher=fetcher, on_site=on_site, keep_results=False)

    try:
        if todo:
            asyncio.run(crawl())
        # Every stored site of the batch without a score, stored by this attempt or an earlier one:
        # rule-based scores at once (fast, no LLM); the LLM judgement follows the summaries.
        scored = _sites_at_step(run_id, domains, "stored")
        if scored:
            score_leads(workspace_id=workspace_id, lead_ids=list(scored.values()), use_llm=False)
            _set_step(run_id, list(scored), "scored")
            _after_step("scored")
    except background.JobCancelled:
        # The leads stored before the cancel are kept: give them their rule score, so none is left unscored
        # (read from the run's sites: a store can finish after its coroutine was cancelled).
        _score_unscored_leads(workspace_id, run_id)
        raise
    except Exception as exc:
        if ctx.final_attempt or isinstance(exc, background.PERMANENT_ERRORS):
            # No attempt is left: the sites end as failed with the error, so the run can finish.
            _fail_queued_sites(run_id, domains, f"the crawl batch failed: {background.describe_error(exc)}")
            _finish_run_if_done(run_id)
        raise
    _finish_run_if_done(run_id)
    to_summarise = _sites_at_step(run_id, domains, "scored")
    if to_summarise and settings.openai_enabled:
        background.submit(
            kind="runs.summarize",
            args={
                "lead_ids": list(to_summarise.values()),
                "campaign_id": campaign_id,
                "run_id": run_id,
                "domains": list(to_summarise),
            },
            workspace_id=workspace_id,
        )
    return {"sites": len(domains), "crawled_now": len(todo), "leads": len(scored), "to_summarise": len(to_summarise)}


def _sites_at_step(run_id: int, domains: list[str], step: str) -> dict[str, int]:
    """{domain: lead id} of the batch's stored sites whose last finished step is ``step``."""
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(RunSite.domain, RunSite.lead_id).where(
                RunSite.run_id == run_id,
                RunSite.domain.in_(domains),
                RunSite.status == "crawled",
                RunSite.step == step,
                RunSite.lead_id.is_not(None),
            )
        ).all()
    return {domain: int(lead_id) for domain, lead_id in rows if lead_id is not None}


def _set_step(run_id: int, domains: list[str], step: str) -> None:
    with UnitOfWork() as uow:
        uow.session.execute(
            update(RunSite).where(RunSite.run_id == run_id, RunSite.domain.in_(domains)).values(step=step)
        )
        uow.commit()


def _score_unscored_leads(workspace_id: int, run_id: int) -> None:
    with UnitOfWork() as uow:
        unscored = list(
            uow.session.scalars(
                select(Lead.id)
                .join(RunSite, RunSite.lead_id == Lead.id)
                .where(RunSite.run_id == run_id, RunSite.status == "crawled", Lead.score.is_(None))
            )
        )
    if unscored:
        score_leads(workspace_id=workspace_id, lead_ids=unscored, use_llm=False)


def store_site_or_fail(
    *, workspace_id: int, run_id: int, campaign_id: int | None, domain: str, site: SiteCrawl
) -> int | None:
    """``store_site``, but a site whose storing fails ends as failed with the error, not the batch."""
    try:
        return store_site(workspace_id=workspace_id, run_id=run_id, campaign_id=campaign_id, domain=domain, site=site)
    except Exception as exc:  # noqa: BLE001 - one site's data must never take the others down
        log.exception("storing %s of run %s failed", domain, run_id)
        _fail_queued_sites(run_id, [domain], f"storing the site failed: {background.describe_error(exc)}")
        return None


def _fail_queued_sites(run_id: int, domains: list[str], error: str) -> None:
    with UnitOfWork() as uow:
        uow.session.execute(
            update(RunSite)
            .where(RunSite.run_id == run_id, RunSite.domain.in_(domains), RunSite.status == "queued")
            .values(status="failed", error=error[:2000])
        )
        uow.commit()


def run_data(run: Run) -> dict[str, Any]:
    """The ``data`` of a ``run.finished`` webhook event."""
    return {
        "id": run.id,
        "campaign_id": run.campaign_id,
        "status": run.status,
        "finished_at": run.finished_at,
        "stats": dict(run.stats or {}),
    }


def _finish_run_if_done(run_id: int) -> None:
    with UnitOfWork() as uow:
        run = uow.session.get(Run, run_id)
        left = uow.session.scalar(
            select(RunSite.id).where(RunSite.run_id == run_id, RunSite.status == "queued").limit(1)
        )
        if run is not None and left is None and run.status == "crawling":
            run.status, run.finished_at = "done", utcnow()
            webhooks.emit(uow, workspace_id=run.workspace_id, event="run.finished", data=run_data(run))
            campaign = uow.session.get(Campaign, run.campaign_id)
            if campaign is not None and campaign.status == "running":
                campaign.status = "done"
        uow.commit()


def summarize_job(ctx: background.JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Write an LLM summary (what the company does, industry) for each lead, citing its pages."""

    llm = get_llm()
    if llm is None:
        return {"skipped": "no LLM configured"}
    lead_ids = [int(i) for i in args["lead_ids"]]
    run_id = args.get("run_id")
    done_before: set[int] = set()
    if run_id is not None:  # a retry skips the leads an earlier attempt summarised
        with UnitOfWork() as uow:
            done_before = set(
                uow.session.scalars(
                    select(RunSite.lead_id).where(
                        RunSite.run_id == int(run_id), RunSite.lead_id.in_(lead_ids), RunSite.step == "summarised"
                    )
                )
            )
    for index, lead_id in enumerate(lead_ids):
        if lead_id in done_before:
            continue
        with UnitOfWork() as uow:
            lead = uow.session.get(Lead, lead_id)
            if lead is None or lead.workspace_id != ctx.workspace_id:
                continue
            rows = uow.session.scalars(select(Page).where(Page.lead_id == lead_id).order_by(Page.id)).all()
            pages = [PageInput(url=row.url, html=gzip.decompress(row.html_gz).decode("utf-8")) for row in rows]
        if pages:
            summary = summarize_with_llm(
                pages=pages, llm=llm, workspace_id=ctx.workspace_id, campaign_id=args.get("campaign_id")
            )
            with UnitOfWork() as uow:
                lead = uow.session.get(Lead, lead_id)
                if lead is not None:
                    lead.summary = summary.summary
                    lead.industry = summary.industry[:200] or lead.industry
                    if summary.location and not lead.location:
                        lead.location = summary.location[:300]
                    add_evidence(uow, lead=lead, facts=list(summary.facts))
                    if run_id is not None:
                        uow.session.execute(
                            update(RunSite)
                            .where(RunSite.run_id == int(run_id), RunSite.lead_id == lead_id)
                            .values(step="summarised")
                        )
                    uow.commit()
            _after_step("summarised")
        ctx.progress(index + 1, len(lead_ids), f"Summarised {index + 1} of {len(lead_ids)}")
    # With the summaries (industry) in place, score again with the LLM judgement as one factor.

    scored = score_leads(workspace_id=ctx.workspace_id or 0, lead_ids=lead_ids, llm=llm)
    return {"leads": len(lead_ids), "judged": scored.judged}
