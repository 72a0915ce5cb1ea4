"""Crawl benchmark: LeadScout's crawler and Scrapy on the same fixture sites, side by side.

    PYTHONPATH=. .venv/bin/python bench/crawl.py --sites 500 --concurrency 32

A fixture server (its own process) serves N generated sites, each response delayed by 50-200 ms
derived from its URL, so every crawler sees the same latencies. Each crawler runs in its own
process, fetches robots.txt, the home page and sitemap.xml, picks up to 5 more pages with the same
selection function (6 pages a site), and calls the same page handler on every page. Printed:
pages/s, sites/min, CPU seconds per page, peak RSS (and RSS at 25/50/75/100 % of the sites, to
show it stays flat), and the share of the latency bound (concurrency / mean response latency).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.site_server import latency_for  # noqa: E402
from tests.fixtures.sites import generate_sites  # noqa: E402

BENCH_QUIRKS = "broken_html,cp1252,gzip,non_html,robots_disallow,sitemap_only_legal"
MORE_PAGES = 5  # home + 5 = 6 pages a site
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def handle_page(url: str, html: str) -> tuple[str, int, int]:
    """The page handler both crawlers call: parse, read the title, count links and emails."""
    tree = LexborHTMLParser(html)
    title = tree.css_first("title")
    return (title.text(strip=True) if title else "", len(tree.css("a[href]")), len(_EMAIL.findall(html)))


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class Meter:
    """CPU, wall time, RSS samples and the URLs requested, for one crawler."""

    def __init__(self, total_sites: int) -> None:
        self.total = total_sites
        self.sites = 0
        self.pages = 0
        self.samples: list[float] = []
        self.cpu0 = time.process_time()
        self.wall0 = time.perf_counter()

    def site_done(self, pages: int) -> None:
        self.sites += 1
        self.pages += pages
        if self.sites * 4 // self.total > len(self.samples):
            self.samples.append(round(_rss_mb(), 1))

    def report(self, requests: list[str]) -> dict[str, Any]:
        wall = time.perf_counter() - self.wall0
        cpu = time.process_time() - self.cpu0
        latencies = [latency_for(urlsplit(u).hostname or "", urlsplit(u).path or "/") for u in requests]
        return {
            "sites": self.sites,
            "pages": self.pages,
            "requests": len(requests),
            "wall": wall,
            "cpu": cpu,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000,
            "rss_samples": self.samples,
            "mean_latency": sum(latencies) / max(1, len(latencies)),
        }


def run_leadscout(urls: list[str], port: int, concurrency: int, pool: str) -> dict[str, Any]:
    """LeadScout's crawler (`pool` = "h1" for its own connector, "httpcore" for httpx's pool)."""
    from core.crawl import AddressPolicy, CrawlConfig, Fetcher
    from core.crawl.h1 import StreamConnector
    from core.crawl.site import crawl_sites_async
    from core.crawl.transport import HttpcoreConnector
    from tests.fixtures.site_server import FixtureResolver

    meter = Meter(len(urls))
    config = CrawlConfig(
        per_host_delay=0.0,
        global_concurrency=concurrency,
        per_host_concurrency=2,
        max_pages=MORE_PAGES,
        total_timeout=30.0,
    )
    policy = AddressPolicy(allowed_ports=frozenset({port}), private_hosts=frozenset({"*.test"}))
    requests: list[str] = []

    def on_site(site: Any) -> None:
        for page in site.pages:
            handle_page(page.final_url, page.html or "")
        requests.extend(e.url for e in site.log if e.status is not None)
        meter.site_done(len(site.pages))

    async def main() -> None:
        connector = StreamConnector() if pool == "h1" else HttpcoreConnector()
        async with Fetcher(config=config, policy=policy, resolver=FixtureResolver(), connector=connector) as f:
            await crawl_sites_async(urls, fetcher=f, on_site=on_site, keep_results=False)

    asyncio.run(main())
    return meter.report(requests)


def run_scrapy(urls: list[str], port: int, concurrency: int) -> dict[str, Any]:
    """Scrapy with the same limits, robots.txt, sitemap hint, page selection and page handler."""
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.resolver import CachingThreadedResolver
    from twisted.internet import defer

    from core.crawl.select import Link, choose_pages, extract_links, parse_sitemap

    class FixtureDNS(CachingThreadedResolver):
        def getHostByName(self, name: str, timeout: Any = ()) -> Any:  # noqa: N802
            if name.endswith(".test"):
                return defer.succeed("127.0.0.1")
            return defer.fail(OSError(f"{name}: not a fixture host"))

    sys.modules[__name__].FixtureDNS = FixtureDNS  # type: ignore[attr-defined]
    meter = Meter(len(urls))
    requests: list[str] = []
    state: dict[str, dict[str, Any]] = {}

    class BenchSpider(scrapy.Spider):
        name = "bench"

        async def start(self):  # type: ignore[no-untyped-def]
            for url in urls:
                state[url] = {"pending": 2, "links": [], "hints": [], "pages": 0, "left": 0, "home": None}
                yield scrapy.Request(url, callback=self.home, errback=self.failed, cb_kwargs={"site": url})
                yield scrapy.Request(
                    url + "sitemap.xml", callback=self.sitemap, errback=self.failed, cb_kwargs={"site": url}
                )

        def _joined(self, site: str):  # type: ignore[no-untyped-def]
            entry = state[site]
            entry["pending"] -= 1
            if entry["pending"]:
                return
            if entry["home"] is None:
                meter.site_done(0)
                return
            chosen = choose_pages(
                [Link(u, t) for u, t in entry["links"]],
                home_url=entry["home"],
                limit=MORE_PAGES,
                sitemap_urls=entry["hints"],
            )
            entry["left"] = len(chosen)
            if not chosen:
                meter.site_done(entry["pages"])
            for page in chosen:
                yield scrapy.Request(page.url, callback=self.page, errback=self.page_failed, cb_kwargs={"site": site})

        def home(self, response, site):  # type: ignore[no-untyped-def]
            requests.append(response.url)
            if isinstance(response, scrapy.http.HtmlResponse):
                state[site]["home"] = response.url
                state[site]["pages"] += 1
                handle_page(response.url, response.text)
                state[site]["links"] = [(k.url, k.text) for k in extract_links(response.text, response.url)]
            yield from self._joined(site)

        def sitemap(self, response, site):  # type: ignore[no-untyped-def]
            requests.append(response.url)
            state[site]["hints"] = parse_sitemap(response.body) if response.status == 200 else []
            yield from self._joined(site)

        def failed(self, failure):  # type: ignore[no-untyped-def]
            yield from self._joined(failure.request.cb_kwargs["site"])

        def _page_done(self, site: str) -> None:
            state[site]["left"] -= 1
            if state[site]["left"] == 0:
                meter.site_done(state[site]["pages"])

        def page(self, response, site):  # type: ignore[no-untyped-def]
            requests.append(response.url)
            if isinstance(response, scrapy.http.HtmlResponse):
                state[site]["pages"] += 1
                handle_page(response.url, response.text)
            self._page_done(site)

        def page_failed(self, failure):  # type: ignore[no-untyped-def]
            self._page_done(failure.request.cb_kwargs["site"])

    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
            "DOWNLOAD_DELAY": 0,
            "ROBOTSTXT_OBEY": True,
            "USER_AGENT": "LeadScout-bench (+http://127.0.0.1/)",
            "LOG_LEVEL": "ERROR",
            "DNS_RESOLVER": f"{__name__}.FixtureDNS",
            "TWISTED_DNS_RESOLVER": f"{__name__}.FixtureDNS",
            "COOKIES_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "RETRY_ENABLED": False,
            "DOWNLOAD_MAXSIZE": 2_000_000,
            "DOWNLOAD_TIMEOUT": 30,
            "REDIRECT_MAX_TIMES": 5,
            "HTTPERROR_ALLOW_ALL": False,
            "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue",
        }
    )
    meter.cpu0, meter.wall0 = time.process_time(), time.perf_counter()
    process.crawl(BenchSpider)
    process.start()
    robots = [f"{u}robots.txt" for u in urls]  # fetched by Scrapy's middleware, outside the callbacks
    return meter.report(requests + robots)


def _child(args: argparse.Namespace) -> None:
    sites = generate_sites(args.sites, seed=args.seed, allowed_quirks=tuple(BENCH_QUIRKS.split(",")))
    urls = [f"http://{s.host}:{args.port}/" for s in sites]
    if args.child == "scrapy":
        result = run_scrapy(urls, args.port, args.concurrency)
    else:
        result = run_leadscout(urls, args.port, args.concurrency, pool=args.child.split("-", 1)[1])
    print(json.dumps(result))


def main() -> None:
    """Start the server, run each crawler in its own process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crawlers", default="leadscout-h1,leadscout-httpcore,scrapy")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fixtures.site_server",
            "--sites",
            str(args.sites),
            "--seed",
            str(args.seed),
            "--latency",
            "--quirks",
            BENCH_QUIRKS,
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
        text=True,
    )
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        rows = []
        for crawler in args.crawlers.split(","):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    crawler,
                    "--port",
                    str(port),
                    "--sites",
                    str(args.sites),
                    "--seed",
                    str(args.seed),
                    "--concurrency",
                    str(args.concurrency),
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env,
                timeout=900,
                check=True,
            )
            rows.append((crawler, json.loads(out.stdout.strip().splitlines()[-1])))
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"{args.sites} fixture sites, 6 pages a site max, concurrency {args.concurrency} "
        f"(2 per host), latency 50-200 ms per response, {os.cpu_count()} CPUs"
    )
    head = (
        f"{'crawler':<20}{'sites':>6}{'pages':>7}{'reqs':>6}{'wall s':>8}{'pages/s':>9}{'sites/min':>10}"
        f"{'CPU ms/page':>12}{'peak RSS MB':>12}{'bound %':>9}  RSS MB at 25/50/75/100 %"
    )
    print(head)
    print("-" * len(head))
    for name, r in rows:
        bound = args.concurrency / r["mean_latency"]  # requests/s if every slot were always busy
        share = 100 * (r["requests"] / r["wall"]) / bound
        print(
            f"{name:<20}{r['sites']:>6}{r['pages']:>7}{r['requests']:>6}{r['wall']:>8.1f}"
            f"{r['pages'] / r['wall']:>9.1f}{60 * r['sites'] / r['wall']:>10.0f}"
            f"{1000 * r['cpu'] / max(1, r['pages']):>12.2f}{r['peak_rss_mb']:>12.0f}{share:>9.0f}  "
            f"{'/'.join(str(s) for s in r['rss_samples'])}"
        )


if __name__ == "__main__":
    main()
