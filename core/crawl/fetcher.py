"""The polite, SSRF-safe async fetcher: robots, politeness, retries, caps and the crawl log."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, replace
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from core.crawl.addresses import AddressPolicy, Resolver, check_url_form
from core.crawl.decode import (
    HTML_TYPES,
    SNIFFABLE_TYPES,
    CappedGunzip,
    DecodedHtml,
    is_html_response,
    media_type,
    read_html,
)
from core.crawl.gates import HostGates
from core.crawl.h1 import StreamConnector
from core.crawl.models import CrawlConfig, CrawlLogEntry, FetchResult, Validators
from core.crawl.nesting import nesting_cut
from core.crawl.robots import RobotsCache, RobotsRules, rules_from_response
from core.crawl.transport import Connector, GuardedTransport
from core.errors import CrawlError
from core.retry import parse_retry_after

_SNIFF_BYTES = 1024
_LOCATION = "leadscout.location"


@dataclass(frozen=True)
class _Attempt:
    result: FetchResult
    redirect_to: str | None = None
    retry_after: float | None = None


def origin_of(url: str) -> str:
    """ "scheme://host[:port]" of ``url``, the unit robots.txt applies to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


class Fetcher:
    """Fetches URLs for the crawler; use as ``async with Fetcher(...) as fetcher``."""

    def __init__(
        self,
        *,
        config: CrawlConfig,
        policy: AddressPolicy,
        resolver: Resolver | None = None,
        connector: Connector | None = None,
    ) -> None:
        self.config = config
        self._policy = policy
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(policy=policy, resolver=resolver, connector=connector or StreamConnector()),
            trust_env=False,
            follow_redirects=False,
            event_hooks={"response": [_take_location_aside]},
            timeout=httpx.Timeout(config.total_timeout, connect=config.connect_timeout),
            headers={
                "User-Agent": config.user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                "Accept-Encoding": "gzip",
                "Accept-Language": "en,de;q=0.8,fr;q=0.7,es;q=0.6,*;q=0.5",
            },
        )
        self._gates = HostGates(concurrency=config.per_host_concurrency)
        self._global = asyncio.Semaphore(config.global_concurrency)
        self._robots = RobotsCache(fetch=self._fetch_robots, ttl=config.robots_ttl)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection."""
        await self._client.aclose()

    async def robots(self, url: str) -> tuple[RobotsRules, bool]:
        """The robots.txt rules for ``url``'s origin, and whether this call fetched them."""
        return await self._robots.rules(origin_of(url))

    async def _fetch_robots(self, origin: str) -> RobotsRules:
        result = await self.fetch(
            origin + "/robots.txt",
            html_only=False,
            max_bytes=self.config.robots_max_bytes,
            obey_robots=False,
        )
        rules = rules_from_response(result.status, result.body, result.error)
        return replace(rules, log=result.log)

    async def fetch(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        html_only: bool = True,
        max_bytes: int | None = None,
        obey_robots: bool = True,
    ) -> FetchResult:
        """Fetch ``url`` following up to ``max_redirects`` checked hops; never raises for HTTP trouble.

        A URL that cannot be fetched at all (a bad host name, another scheme, a private address in
        any spelling) is refused before robots.txt is asked: one log entry with the reason.
        """
        log: list[CrawlLogEntry] = []
        current, hops, retries = url, 0, 0
        while True:
            try:
                check_url_form(current, policy=self._policy)
            except CrawlError as exc:
                log.append(_entry(current, None, 0, 0.0, "n/a", str(exc)))
                return FetchResult(url=url, final_url=current, status=None, error=str(exc), log=tuple(log))
            robots_state, delay = "n/a", self.config.per_host_delay
            if obey_robots:
                try:
                    rules, fresh = await self.robots(current)
                except CrawlError as exc:  # only when the URL itself is unusable
                    rules, fresh = RobotsRules(mode="disallow_all", reason=str(exc)), False
                if fresh:
                    log.extend(rules.log)
                if not rules.allows(current, self.config.robots_token):
                    reason = "disallowed by robots.txt" + (f" ({rules.reason})" if rules.reason else "")
                    log.append(_entry(current, None, 0, 0.0, "disallowed", reason))
                    return FetchResult(url=url, final_url=current, status=None, error=reason, log=tuple(log))
                robots_state = "allowed"
                delay = max(delay, min(rules.crawl_delay(self.config.robots_token), self.config.max_crawl_delay))
            attempt = await self._request(
                current, validators if hops == 0 else None, html_only, max_bytes, delay, robots_state
            )
            log.append(attempt.result.log[0])
            if attempt.redirect_to is not None:
                hops += 1
                if hops > self.config.max_redirects:
                    error = f"more than {self.config.max_redirects} redirects"
                    return replace(attempt.result, url=url, error=error, log=tuple(log))
                current = attempt.redirect_to
                continue
            if attempt.retry_after is not None and retries < self.config.max_retries:
                retries += 1
                await asyncio.sleep(attempt.retry_after)
                continue
            return replace(attempt.result, url=url, log=tuple(log))

    async def _request(
        self,
        url: str,
        validators: Validators | None,
        html_only: bool,
        max_bytes: int | None,
        delay: float,
        robots_state: str,
    ) -> _Attempt:
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        host = (urlsplit(url).hostname or "").lower()
        async with self._gates.slot(host, delay), self._global:
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.config.total_timeout):
                    async with self._client.stream("GET", url, headers=headers) as response:
                        attempt = await self._read(url, response, html_only, max_bytes or self.config.max_bytes)
            except CrawlError as exc:
                error = str(exc)
            except TimeoutError:
                error = f"timed out after {self.config.total_timeout:g} s"
            except (httpx.InvalidURL, UnicodeError, ValueError) as exc:  # not httpx.HTTPError subclasses
                error = f"refused: not a valid URL ({exc})"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}".rstrip(": ")
            else:
                entry = _entry(
                    url,
                    attempt.result.status,
                    len(attempt.result.body),
                    started,
                    robots_state,
                    attempt.result.error or attempt.result.note,
                    attempt.result,
                )
                return replace(attempt, result=replace(attempt.result, log=(entry,)))
        entry = _entry(url, None, 0, started, robots_state, error)
        return _Attempt(FetchResult(url=url, final_url=url, status=None, error=error, log=(entry,)))

    async def _read(self, url: str, response: httpx.Response, html_only: bool, cap: int) -> _Attempt:
        status = response.status_code
        base = FetchResult(
            url=url,
            final_url=url,
            status=status,
            content_type=response.headers.get("content-type", ""),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )
        if 300 <= status < 400 and status != 304:
            location = response.extensions.get(_LOCATION)
            await _drain(response, 65536)
            if not location:
                return _Attempt(replace(base, error=f"HTTP {status} without Location"))
            return _Attempt(base, redirect_to=urljoin(url, location))
        if status == 304:
            return _Attempt(replace(base, not_modified=True))
        if status in (429, 503):
            wait = parse_retry_after(response.headers.get("retry-after"))
            wait = 1.0 if wait is None else wait
            retry = wait if wait <= self.config.max_retry_after else None
            return _Attempt(replace(base, error=f"HTTP {status}"), retry_after=retry)
        if not 200 <= status < 300:
            return _Attempt(replace(base, error=f"HTTP {status}"))
        kind = media_type(base.content_type)
        if html_only and kind and kind not in HTML_TYPES + SNIFFABLE_TYPES:
            return _Attempt(replace(base, error=f"not HTML ({kind})"))
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip"):
            return _Attempt(replace(base, error=f"unsupported Content-Encoding {encoding!r}"))
        body, truncated = await _read_capped(
            response, cap, gzip=encoding in ("gzip", "x-gzip"), sniff=html_only, content_type=base.content_type
        )
        if body is None:
            return _Attempt(replace(base, error="not HTML (sniffed)"))
        result = replace(base, body=body, truncated=truncated, content_hash=hashlib.sha256(body).hexdigest())
        if not html_only:
            return _Attempt(result)
        # Decoding and the nesting scan are linear but slow for a 2 MB page: off the event loop.
        decoded, note = await asyncio.to_thread(
            _decode_within_nesting, body, base.content_type, truncated, self.config.max_nesting
        )
        return _Attempt(
            replace(
                result,
                text=decoded.text,
                text_utf8=decoded.utf8,
                encoding=decoded.encoding,
                truncated=truncated or bool(note),
                note=note,
            )
        )


def _decode_within_nesting(body: bytes, content_type: str, truncated: bool, limit: int) -> tuple[DecodedHtml, str]:
    """The page decoded, cut where it nests deeper than ``limit`` (parsing cost grows with depth), and the note
    that says so ('' when whole)."""
    decoded = read_html(body, content_type, truncated=truncated)
    cut = nesting_cut(decoded.text, limit)
    if cut is None:
        return decoded, ""
    note = f"cut at character {cut:,} of {len(decoded.text):,}: the page nests deeper than {limit:,} elements"
    return DecodedHtml(decoded.text[:cut], decoded.encoding), note


async def _take_location_aside(response: httpx.Response) -> None:
    """httpx builds the next request from Location even when it does not follow redirects, and
    raises on a target it cannot parse; the fetcher follows each hop itself, after checking it,
    so the header is moved where httpx does not look."""
    location = response.headers.get("location")
    if location is not None:
        response.extensions[_LOCATION] = location
        del response.headers["location"]


async def _drain(response: httpx.Response, limit: int) -> None:
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read > limit:
            break


async def _read_capped(
    response: httpx.Response, cap: int, *, gzip: bool, sniff: bool, content_type: str
) -> tuple[bytes | None, bool]:
    """The body up to ``cap`` bytes (decompressed), and whether it was cut; None if not HTML."""
    inflater = CappedGunzip(cap) if gzip else None
    parts: list[bytes] = []
    size, raw_size, truncated, sniffed = 0, 0, False, not sniff
    async for chunk in response.aiter_raw():
        raw_size += len(chunk)
        data = inflater.feed(chunk) if inflater is not None else chunk
        if inflater is None and size + len(data) > cap:
            data, truncated = data[: cap - size], True
        parts.append(data)
        size += len(data)
        if not sniffed and size >= _SNIFF_BYTES:
            sniffed = True
            if not is_html_response(content_type, b"".join(parts)):
                return None, False
        if truncated or (inflater is not None and inflater.truncated) or raw_size > cap:
            truncated = True
            break
    body = b"".join(parts)
    if not sniffed and not is_html_response(content_type, body):
        return None, False
    return body, truncated


def _entry(
    url: str,
    status: int | None,
    size: int,
    started: float,
    robots: str,
    error: str = "",
    result: FetchResult | None = None,
) -> CrawlLogEntry:
    return CrawlLogEntry(
        url=url,
        status=status,
        bytes=size,
        elapsed_ms=int((time.monotonic() - started) * 1000) if started else 0,
        robots=robots,
        error=error,
        etag=result.etag if result else None,
        last_modified=result.last_modified if result else None,
        content_hash=result.content_hash if result else None,
        fetched_at=time.time(),
    )
