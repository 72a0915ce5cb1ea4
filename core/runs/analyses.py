"""One-off website analysis: crawl one site and extract its profile with evidence, as a job; nothing is stored
as a lead (a run on pasted URLs does that). The same crawl and extraction as ``python -m core analyze-url``.

The analysis is its job: its id is the job's id, its status and progress are the job's, and the profile is the
job's result, so no table of its own is needed. The URL passes the crawler's SSRF rules before a job is made,
so a private address is refused with the reason at once, and the crawler checks every address again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import background
from core.actor import Actor
from core.audit import audit
from core.config import Settings, get_settings
from core.crawl.addresses import AddressPolicy, SystemResolver, check_url
from core.crawl.models import SiteCrawl
from core.crawl.override import resolver_from_settings
from core.crawl.site import crawl_site, start_url_of
from core.db import UnitOfWork
from core.db.models import Job
from core.errors import CrawlError, InvalidInput, NotFound
from core.extract.models import PageInput
from core.extract.profile import extract_site

ANALYSE_SITE = background.kinds.ANALYSE_SITE
MAX_URL_CHARS = 2000


@dataclass(frozen=True)
class AnalysisView:
    """An analysis as its caller sees it: the URL, the job's state, then the profile with its evidence."""

    id: int
    url: str
    status: str
    progress_done: int
    progress_total: int | None
    message: str
    error: str
    created_at: datetime
    finished_at: datetime | None
    final_url: str
    profile: dict[str, Any] | None
    pages: tuple[dict[str, Any], ...]


def check_site_url(url: str, *, settings: Settings | None = None) -> str:
    """The URL the crawl starts from, when the crawler's SSRF rules let LeadScout fetch it; ``InvalidInput``
    with the reason otherwise (a private or loopback address, a port not allowed, a name that does not resolve)."""
    settings = settings or get_settings()
    url = url.strip()
    if not url or len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"Give the website's URL (https://…, at most {MAX_URL_CHARS} characters).")
    start = start_url_of(url)
    policy = AddressPolicy.from_settings_text(
        allow_private=settings.crawl_allow_private, allowed_ports=settings.crawl_allowed_ports
    )
    resolver = resolver_from_settings(settings.crawl_resolve) or SystemResolver()
    try:
        target = asyncio.run(check_url(start, policy=policy, resolver=resolver))
    except CrawlError as exc:
        raise InvalidInput(f"This website cannot be analysed: {exc}") from exc
    return target.url


def start_analysis(*, actor: Actor, url: str, runner: background.Runner | None = None) -> int:
    """Check the URL and queue its analysis; returns the analysis id (its job's id)."""
    actor.require_permission("site.analyse")
    start = check_site_url(url)
    job_id = background.submit(kind=ANALYSE_SITE, args={"url": start}, actor=actor, runner=runner)
    with UnitOfWork() as uow:
        audit(uow, "site.analysis_started", actor=actor, target_type="job", target_id=job_id, detail={"url": start})
        uow.commit()
    return job_id


def get_analysis_or_raise(*, actor: Actor, analysis_id: int) -> AnalysisView:
    """The analysis's state, then its profile; ``NotFound`` for another workspace's or for a job of another kind."""
    actor.require_permission("site.analyse")
    with UnitOfWork() as uow:
        row = uow.session.get(Job, analysis_id)
        if row is None or row.workspace_id != actor.workspace_id or row.kind != ANALYSE_SITE.name:
            raise NotFound(f"Analysis {analysis_id} does not exist in this workspace.")
        job, url = background.view_of(row), str((row.args or {}).get("url", ""))
    result = job.result or {}
    return AnalysisView(
        id=job.id,
        url=url,
        status=job.status,
        progress_done=job.progress_done,
        progress_total=job.progress_total,
        message=job.message,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        final_url=str(result.get("final_url", "")),
        profile=result.get("profile"),
        pages=tuple(result.get("pages", ())),
    )


def cancel_analysis(*, actor: Actor, analysis_id: int) -> AnalysisView:
    """Stop an analysis that has not finished (a crawl under way stops before extraction)."""
    actor.require_permission("site.analyse")
    get_analysis_or_raise(actor=actor, analysis_id=analysis_id)  # NotFound for other kinds and workspaces
    background.cancel(actor=actor, job_id=analysis_id)
    return get_analysis_or_raise(actor=actor, analysis_id=analysis_id)


def crawl_and_extract(url: str, *, settings: Settings | None = None) -> tuple[SiteCrawl, dict[str, Any] | None]:
    """Crawl the site as a run does and extract its merged profile (None when no page could be fetched)."""
    settings = settings or get_settings()
    site = crawl_site(url, settings=settings, resolver=resolver_from_settings(settings.crawl_resolve))
    pages = [
        PageInput(url=p.final_url or p.url, html=p.html, kind=p.kind, html_utf8=p.html_utf8)
        for p in site.pages
        if p.html
    ]
    return site, (extract_site(pages).as_json() if pages else None)


def analyse_site_job(ctx: background.JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Job: crawl the site and extract its profile; a site that cannot be fetched fails the analysis with why."""
    url = str(args["url"])
    ctx.progress(0, 2, f"Crawling {url}")
    site, profile = crawl_and_extract(url)
    ctx.check_cancelled()
    if profile is None:
        raise InvalidInput(f"{url} could not be analysed: {site.error or 'no page could be fetched'}")
    ctx.progress(2, 2, f"Analysed {len(site.pages)} page(s)")
    return {
        "final_url": site.final_url,
        "profile": profile,
        "pages": [{"url": p.final_url or p.url, "kind": p.kind, "status": p.status} for p in site.pages],
    }
