"""Crawl a site (home page, then the pages that matter for sales) or many sites at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from core.config import Settings, get_settings
from core.crawl.addresses import AddressPolicy, Resolver
from core.crawl.fetcher import Fetcher, origin_of
from core.crawl.models import CrawlConfig, CrawlLogEntry, FetchedPage, FetchResult, SiteCrawl, Validators
from core.crawl.select import choose_pages, extract_links, parse_sitemap
from core.crawl.transport import Connector
from core.search.candidates import normalise_domain

SITEMAP_MAX_BYTES = 1_000_000
log = logging.getLogger(__name__)


def build_fetcher(
    *,
    settings: Settings | None = None,
    config: CrawlConfig | None = None,
    resolver: Resolver | None = None,
    connector: Connector | None = None,
) -> Fetcher:
    """A fetcher configured from settings (the resolver is the system's unless a test injects one)."""
    settings = settings or get_settings()
    policy = AddressPolicy.from_settings_text(
        allow_private=settings.crawl_allow_private, allowed_ports=settings.crawl_allowed_ports
    )
    return Fetcher(
        config=config or CrawlConfig.from_settings(settings),
        policy=policy,
        resolver=resolver,
        connector=connector,
    )


def _page(result: FetchResult, kind: str) -> FetchedPage | None:
    if not result.ok or result.status is None:
        return None
    return FetchedPage(
        url=result.url,
        final_url=result.final_url,
        kind=kind,
        status=result.status,
        html=result.text,
        encoding=result.encoding,
        truncated=result.truncated,
        not_modified=result.not_modified,
        etag=result.etag,
        last_modified=result.last_modified,
        content_hash=result.content_hash,
        html_utf8=result.text_utf8,
    )


async def _sitemap_hints(fetcher: Fetcher, home_url: str, log: list[CrawlLogEntry]) -> list[str]:
    rules, _fresh = await fetcher.robots(home_url)
    origin = origin_of(home_url)
    url = next((u for u in rules.sitemaps() if origin_of(u) == origin), origin + "/sitemap.xml")
    result = await fetcher.fetch(url, html_only=False, max_bytes=SITEMAP_MAX_BYTES)
    log.extend(result.log)
    return parse_sitemap(result.body) if result.ok and result.status == 200 else []


def start_url_of(url: str) -> str:
    """Where a site's crawl starts: the URL with a scheme (https if none) and a path."""
    start = url if "://" in url else "https://" + url
    try:
        has_path = bool(urlsplit(start).path)
    except ValueError:  # a malformed URL; the fetcher refuses it with the reason
        return start
    return start if has_path else start + "/"


async def crawl_site_async(
    url: str,
    *,
    fetcher: Fetcher,
    max_pages: int | None = None,
    previous: Mapping[str, Validators] | None = None,
) -> SiteCrawl:
    """Fetch the home page, then up to ``max_pages`` more same-site pages chosen by kind."""
    limit = fetcher.config.max_pages if max_pages is None else max_pages
    previous = previous or {}
    start = start_url_of(url)
    log: list[CrawlLogEntry] = []
    sitemap_log: list[CrawlLogEntry] = []
    sitemap = None
    if fetcher.config.use_sitemap and limit > 0:  # fetched alongside the home page
        sitemap = asyncio.create_task(_sitemap_hints(fetcher, start, sitemap_log))
    home = await fetcher.fetch(start, validators=previous.get(start))
    log.extend(home.log)
    home_page = _page(home, "home")
    domain = normalise_domain(home.final_url) or normalise_domain(start) or ""
    hints = await sitemap if sitemap is not None else []
    log.extend(sitemap_log)
    if home_page is None:
        error = home.error or "the home page could not be fetched"
        return SiteCrawl(start_url=start, final_url=home.final_url, domain=domain, log=tuple(log), error=error)
    # Parsing runs on a thread (lexbor lets go of the GIL), so other sites' requests go on meanwhile.
    links = await asyncio.to_thread(extract_links, home.text, home.final_url) if home.text else []
    chosen = choose_pages(links, home_url=home.final_url, limit=limit, sitemap_urls=hints)
    results = await asyncio.gather(*(fetcher.fetch(p.url, validators=previous.get(p.url)) for p in chosen))
    pages, skipped = [home_page], []
    for ranked, result in zip(chosen, results, strict=True):
        log.extend(result.log)
        page = _page(result, ranked.kind)
        if page is None:
            skipped.append((ranked.url, result.error))
        elif page.not_modified or page.content_hash not in {p.content_hash for p in pages}:
            pages.append(page)
    return SiteCrawl(
        start_url=start,
        final_url=home.final_url,
        domain=domain,
        pages=tuple(pages),
        log=tuple(log),
        skipped=tuple(skipped),
    )


async def _crawl_one_site(url: str, *, fetcher: Fetcher, max_pages: int | None) -> SiteCrawl:
    """One site's crawl; a failure the fetcher did not foresee fails this site only, with its reason."""
    try:
        return await crawl_site_async(url, fetcher=fetcher, max_pages=max_pages)
    except Exception as exc:  # noqa: BLE001 - one hostile site must never take the others down
        log.exception("crawling %s failed", url)
        error = f"the crawl failed: {type(exc).__name__}: {exc}"[:2000]
        start = start_url_of(url)
        return SiteCrawl(start_url=start, final_url=start, domain=normalise_domain(start) or "", error=error)


async def crawl_sites_async(
    urls: Iterable[str],
    *,
    fetcher: Fetcher,
    max_pages: int | None = None,
    on_site: Callable[[SiteCrawl], Awaitable[None] | None] | None = None,
    sites_in_flight: int | None = None,
    keep_results: bool = True,
) -> list[SiteCrawl]:
    """Crawl many sites concurrently (bounded); results in input order unless only streamed to ``on_site``."""
    todo = list(urls)
    results: list[SiteCrawl | None] = [None] * len(todo)
    width = sites_in_flight or max(4, fetcher.config.global_concurrency * 2)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(todo)):
        queue.put_nowait(index)

    async def worker() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            site = await _crawl_one_site(todo[index], fetcher=fetcher, max_pages=max_pages)
            if keep_results:
                results[index] = site
            if on_site is not None:
                outcome = on_site(site)
                if outcome is not None:
                    await outcome

    await asyncio.gather(*(worker() for _ in range(min(width, len(todo)))))
    return [r for r in results if r is not None]


def crawl_site(
    url: str, *, settings: Settings | None = None, max_pages: int | None = None, resolver: Resolver | None = None
) -> SiteCrawl:
    """Crawl one site from synchronous code (a worker, the command line)."""

    async def run() -> SiteCrawl:
        async with build_fetcher(settings=settings, resolver=resolver) as fetcher:
            return await crawl_site_async(url, fetcher=fetcher, max_pages=max_pages)

    return asyncio.run(run())


def crawl_sites(
    urls: Iterable[str],
    *,
    settings: Settings | None = None,
    max_pages: int | None = None,
    resolver: Resolver | None = None,
) -> list[SiteCrawl]:
    """Crawl many sites concurrently from synchronous code; results in input order."""

    async def run() -> list[SiteCrawl]:
        async with build_fetcher(settings=settings, resolver=resolver) as fetcher:
            return await crawl_sites_async(urls, fetcher=fetcher, max_pages=max_pages)

    return asyncio.run(run())
