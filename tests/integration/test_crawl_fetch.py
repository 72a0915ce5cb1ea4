"""The fetcher and site crawl against generated fixture sites on a local server."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Iterator

import pytest

from core.crawl import AddressPolicy, CrawlConfig, Fetcher, FetchResult, SiteCrawl, Validators
from core.crawl.site import crawl_site_async, crawl_sites_async
from tests.fixtures.site_server import FixtureResolver, SiteServer, StreamedResponse
from tests.fixtures.sites import FixtureResponse, FixtureSite, generate_sites

CAP = 2_000_000
FIFTY_MB = 50 * 1024 * 1024


def _bomb() -> bytes:
    # ~100 MB of zeros compressed to ~100 KB.
    squeezer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1024 * 1024)
    return b"".join(squeezer.compress(block) for _ in range(100)) + squeezer.flush()


BOMB = _bomb()


def _fifty_mb() -> Iterator[bytes]:
    chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
    yield b"<!doctype html><html><body>"
    for _ in range(FIFTY_MB // len(chunk)):
        yield chunk


GZIPPED_PAGE = "<!doctype html><html><body><p>Bäckerei Müller · info@müller.example</p></body></html>"
CYRILLIC = "Наша компания работает с 1998 года и поставляет оборудование по всей России."


def extra_routes(host: str, path: str, headers: dict[str, str]) -> FixtureResponse | StreamedResponse | None:
    """Hostile and special responses on the host ``special.test``."""
    if host != "special.test":
        return None
    if path == "/robots.txt":
        return FixtureResponse(body=b"User-agent: *\nDisallow: /private\n", headers=(("Content-Type", "text/plain"),))
    if path == "/gzipped":
        return FixtureResponse(
            body=gzip.compress(GZIPPED_PAGE.encode()),
            headers=(("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")),
        )
    if path == "/bomb":
        return FixtureResponse(body=BOMB, headers=(("Content-Type", "text/html"), ("Content-Encoding", "gzip")))
    if path == "/huge":
        return StreamedResponse(chunks=_fifty_mb)
    if path == "/image":
        return FixtureResponse(body=b"\x89PNG\r\n\x1a\n" + b"\0" * 100, headers=(("Content-Type", "image/png"),))
    if path == "/octet":
        return FixtureResponse(
            body=b"%PDF-1.4 " + b"\0" * 2000, headers=(("Content-Type", "application/octet-stream"),)
        )
    if path == "/cp1251":
        page = (
            f"<html><head><meta charset='iso-8859-1'><title>О нас</title></head><body><p>{CYRILLIC}</p></body></html>"
        )
        return FixtureResponse(body=page.encode("cp1251"), headers=(("Content-Type", "text/html; charset=iso-8859-1"),))
    if path.startswith("/to-private"):
        target = {
            "/to-private-loopback": "http://127.0.0.1:{port}/",
            "/to-private-meta": "http://169.254.169.254/latest/meta-data/",
            "/to-private-v6": "http://[::1]:{port}/",
        }[path]
        return FixtureResponse(
            status=302, headers=(("Location", target.format(port=headers["host"].rsplit(":", 1)[1])),)
        )
    if path.startswith("/loop"):
        n = int(path[5:] or 0)
        return FixtureResponse(status=301, headers=(("Location", f"/loop{n + 1}"),))
    if path == "/retry":
        return None
    return FixtureResponse(body=b"<html><body>ok</body></html>")


@pytest.fixture(scope="module")
def sites() -> list[FixtureSite]:
    return generate_sites(24, seed=7)


@pytest.fixture(scope="module")
def server(sites: list[FixtureSite]) -> Iterator[SiteServer]:
    with SiteServer(sites, routes=extra_routes) as running:
        yield running


def run_fetch(server: SiteServer, coro_factory, **config) -> object:  # type: ignore[no-untyped-def]
    async def main() -> object:
        policy = AddressPolicy(allowed_ports=frozenset({server.port}), private_hosts=frozenset({"*.test"}))
        cfg = CrawlConfig(per_host_delay=0.0, total_timeout=2.0, max_retry_after=2.0, **config)
        async with Fetcher(config=cfg, policy=policy, resolver=FixtureResolver()) as fetcher:
            return await coro_factory(fetcher)

    return asyncio.run(main())


def fetch(server: SiteServer, path: str, **kwargs: object) -> FetchResult:
    url = f"http://special.test:{server.port}{path}"
    return run_fetch(server, lambda f: f.fetch(url, **kwargs))  # type: ignore[return-value]


def test_gzip_bomb_is_cut_at_the_cap(server: SiteServer) -> None:
    result = fetch(server, "/bomb")
    assert result.truncated and len(result.body) == CAP
    assert result.log[-1].bytes == CAP


def test_a_gzip_encoded_page_arrives_as_the_markup_the_server_compressed(server: SiteServer) -> None:
    result = fetch(server, "/gzipped")
    assert not result.truncated and result.text == GZIPPED_PAGE


def test_fifty_megabyte_page_is_cut_at_the_cap(server: SiteServer) -> None:
    result = fetch(server, "/huge")
    assert result.truncated and len(result.body) <= CAP and result.text is not None
    assert result.text.startswith("<!doctype html>")


def test_robots_disallow_is_obeyed_and_logged(server: SiteServer) -> None:
    before = len([r for r in server.requests if r.path == "/private"])
    result = fetch(server, "/private")
    assert result.error.startswith("disallowed by robots.txt")
    assert result.log[-1].robots == "disallowed"
    assert len([r for r in server.requests if r.path == "/private"]) == before


@pytest.mark.parametrize("path", ["/image", "/octet"])
def test_non_html_is_skipped(server: SiteServer, path: str) -> None:
    result = fetch(server, path)
    assert result.text is None and result.error.startswith("not HTML")


def test_windows_1251_declared_wrongly_decodes_correctly(server: SiteServer) -> None:
    result = fetch(server, "/cp1251")
    assert result.encoding == "cp1251"
    assert CYRILLIC in (result.text or "")


@pytest.mark.parametrize("path", ["/to-private-loopback", "/to-private-meta", "/to-private-v6"])
def test_redirect_to_a_private_address_is_refused(server: SiteServer, path: str) -> None:
    result = fetch(server, path)
    assert result.status is None and "refused" in result.error
    assert any(e.status == 302 for e in result.log) and "refused" in result.log[-1].error


def test_redirects_stop_after_five_hops(server: SiteServer) -> None:
    result = fetch(server, "/loop0")
    assert "more than 5 redirects" in result.error
    assert len([e for e in result.log if e.status == 301]) == 6


def test_user_agent_names_leadscout_and_gzip_only(server: SiteServer) -> None:
    fetch(server, "/hello")
    seen = [r for r in server.requests if r.path == "/hello"][-1]
    assert seen.headers["user-agent"].startswith("LeadScout") and "+http" in seen.headers["user-agent"]
    assert seen.headers["accept-encoding"] == "gzip"


def _crawl(server: SiteServer, site: FixtureSite, **kwargs: object) -> SiteCrawl:
    return run_fetch(server, lambda f: crawl_site_async(server.url_of(site), fetcher=f, **kwargs))  # type: ignore[return-value]


def _with(sites: list[FixtureSite], quirk: str) -> FixtureSite:
    return next(s for s in sites if quirk in s.quirks)


def test_site_crawl_picks_the_pages_that_matter(server: SiteServer, sites: list[FixtureSite]) -> None:
    site = next(s for s in sites if not s.quirks)
    crawl = _crawl(server, site)
    kinds = [p.kind for p in crawl.pages]
    assert kinds[0] == "home" and {"contact", "about", "legal", "team"} <= set(kinds)
    assert len(crawl.pages) == 7 and crawl.domain == site.truth.domain
    # One crawl-log row per request the server saw for this host.
    seen = [r for r in server.requests if r.host == site.host]
    assert len(crawl.log) >= len(seen) and {e.url.split(str(server.port))[1] for e in crawl.log} >= {"/robots.txt", "/"}


def test_robots_500_means_nothing_is_fetched(server: SiteServer, sites: list[FixtureSite]) -> None:
    site = _with(sites, "robots_500")
    crawl = _crawl(server, site)
    assert not crawl.ok and "disallowed by robots.txt" in crawl.error
    assert [r.path for r in server.requests if r.host == site.host] == ["/robots.txt"]


def test_retry_after_503_then_success(server: SiteServer, sites: list[FixtureSite]) -> None:
    site = _with(sites, "flaky_503")
    crawl = _crawl(server, site)
    contact = [p for p in crawl.pages if p.kind == "contact"]
    assert contact and contact[0].status == 200
    assert any(e.status == 503 for e in crawl.log)


def test_sitemap_only_page_is_found(server: SiteServer, sites: list[FixtureSite]) -> None:
    site = _with(sites, "sitemap_only_legal")
    assert "legal" in [p.kind for p in _crawl(server, site).pages]


def test_recrawl_sends_validators_and_keeps_unchanged_pages(server: SiteServer, sites: list[FixtureSite]) -> None:
    site = next(s for s in sites if not s.quirks)
    first = _crawl(server, site)
    previous = {p.url: Validators(etag=p.etag, last_modified=p.last_modified) for p in first.pages}
    second = _crawl(server, site, previous=previous)
    assert second.pages and all(p.not_modified for p in second.pages)


def test_many_sites_concurrently_with_quirks(server: SiteServer, sites: list[FixtureSite]) -> None:
    crawls = run_fetch(server, lambda f: crawl_sites_async([server.url_of(s) for s in sites], fetcher=f))
    by_domain = {c.domain: c for c in crawls}  # type: ignore[attr-defined]
    for site in sites:
        crawl = by_domain[site.truth.domain]
        assert crawl.ok == ("robots_500" not in site.quirks), (site.host, site.quirks, crawl.error)
        for page in crawl.pages:
            assert page.html and "\ufffd" not in page.html and "Ã" not in page.html
    gz = next(s for s in sites if "gzip" in s.quirks and "robots_500" not in s.quirks)
    assert by_domain[gz.truth.domain].pages[0].html.count("</html>") == 1  # type: ignore[union-attr]
