"""Brave Web Search on httpx, behind a rate limiter; vendor errors become ``SearchError``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from core.config import Settings
from core.errors import InvalidInput, QuotaExceeded, SearchError
from core.ratelimit import RateLimiter, token_bucket
from core.retry import backoff_delay, parse_retry_after
from core.search.models import SearchResult, SearchUsage

MAX_COUNT = 20  # Brave's page size limit
MAX_OFFSET = 9  # Brave's paging limit
MAX_WAIT_SECONDS = 120.0  # a reset further away than this is a quota, not a throttle


class SearchClient(Protocol):
    """A web search engine."""

    def search(
        self,
        query: str,
        *,
        count: int = MAX_COUNT,
        offset: int = 0,
        country: str | None = None,
        search_lang: str | None = None,
    ) -> list[SearchResult]:
        """One page of web results for ``query``."""


def _pair(value: str | None) -> list[float]:
    """Brave's rate-limit headers carry one value per window: "1, 15000" (second, month)."""
    if not value:
        return []
    try:
        return [float(part) for part in value.split(",") if part.strip()]
    except ValueError:
        return []


def brave_wait_seconds(headers: httpx.Headers, *, now: datetime | None = None) -> float:
    """How long a 429 says to wait: the reset of each exhausted window, or Retry-After."""
    resets = _pair(headers.get("x-ratelimit-reset"))
    remaining = _pair(headers.get("x-ratelimit-remaining"))
    exhausted = [r for r, left in zip(resets, remaining, strict=False) if left <= 0]
    wait = max(exhausted) if exhausted else (resets[0] if resets else 0.0)
    retry_after = parse_retry_after(headers.get("retry-after"), now=now.timestamp() if now else None)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return max(0.0, wait) if (resets or retry_after is not None) else 1.0


class BraveSearch:
    """The Brave Web Search API (``GET {base}/web/search``), rate-limited and retried."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        limiter: RateLimiter,
        http: httpx.Client | None = None,
        max_retries: int = 4,
        timeout: float = 15.0,
        redis: Any | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise InvalidInput("Brave Search has no API key: set BRAVE_API_KEY")
        self._key = api_key
        self._base = base_url.rstrip("/")
        self._limiter = limiter
        self._http = http or httpx.Client(timeout=timeout, trust_env=False)
        self._retries = max_retries
        self._redis = redis
        self._sleep = sleep
        self._used_local = 0
        self._remaining: int | None = None
        self._limit: int | None = None

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def search(
        self,
        query: str,
        *,
        count: int = MAX_COUNT,
        offset: int = 0,
        country: str | None = None,
        search_lang: str | None = None,
    ) -> list[SearchResult]:
        """One page of web results for ``query``; rank counts from 1 across pages."""
        if not query.strip():
            raise InvalidInput("the search query is empty")
        params: dict[str, str | int] = {
            "q": query,
            "count": max(1, min(count, MAX_COUNT)),
            "offset": max(0, min(offset, MAX_OFFSET)),
        }
        if country:
            params["country"] = country
        if search_lang:
            params["search_lang"] = search_lang
        payload = self._get_json(params)
        web = payload.get("web") or {}
        results = web.get("results") or []
        first_rank = params["offset"] * params["count"] + 1  # type: ignore[operator]
        return [
            SearchResult(
                query=query,
                rank=first_rank + index,
                url=str(item.get("url", "")),
                title=str(item.get("title", "")),
                snippet=str(item.get("description", "")),
            )
            for index, item in enumerate(results)
            if isinstance(item, dict) and item.get("url")
        ]

    def _get_json(self, params: dict[str, str | int]) -> dict[str, Any]:
        headers = {
            "X-Subscription-Token": self._key,
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
        }
        last_error = "no attempt made"
        for attempt in range(self._retries + 1):
            self._limiter.acquire()
            try:
                response = self._http.get(f"{self._base}/web/search", params=params, headers=headers)
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                if attempt == self._retries:
                    raise SearchError(f"Brave Search is unreachable ({last_error})") from exc
                self._sleep(backoff_delay(attempt, base=1.0, cap=30.0))
                continue
            self._count_search()
            self._note_quota(response.headers)
            if response.status_code == 200:
                try:
                    data = response.json()
                except ValueError as exc:
                    raise SearchError("Brave Search answered with invalid JSON") from exc
                return data if isinstance(data, dict) else {}
            if response.status_code == 429:
                wait = brave_wait_seconds(response.headers)
                if wait > MAX_WAIT_SECONDS:
                    raise QuotaExceeded(f"the Brave Search quota is used up; it resets in {wait / 3600:.1f} h")
                self._limiter.pause(wait)
                last_error = "429 Too Many Requests"
                continue
            if response.status_code in (401, 403):
                raise SearchError("Brave Search refused the API key; check BRAVE_API_KEY")
            if response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                self._sleep(backoff_delay(attempt, base=1.0, cap=30.0))
                continue
            raise SearchError(f"Brave Search rejected the request (HTTP {response.status_code})")
        raise SearchError(f"Brave Search failed after {self._retries + 1} attempts ({last_error})")

    def _month(self) -> str:
        return datetime.now(UTC).strftime("%Y-%m")

    def _count_search(self) -> None:
        self._used_local += 1
        if self._redis is not None:
            key = f"leadscout:brave:searches:{self._month()}"
            self._redis.incr(key)
            self._redis.expire(key, 40 * 24 * 3600)

    def _note_quota(self, headers: httpx.Headers) -> None:
        remaining = _pair(headers.get("x-ratelimit-remaining"))
        limit = _pair(headers.get("x-ratelimit-limit"))
        if len(remaining) > 1:
            self._remaining = int(remaining[-1])
        if len(limit) > 1:
            self._limit = int(limit[-1])

    def usage(self) -> SearchUsage:
        """Searches made this month (shared across workers with Redis) and Brave's last quota."""
        used = self._used_local
        if self._redis is not None:
            used = int(self._redis.get(f"leadscout:brave:searches:{self._month()}") or 0)
        return SearchUsage(month=self._month(), used=used, remaining=self._remaining, limit=self._limit)


def build_search_client(*, settings: Settings, redis: Any | None = None) -> BraveSearch:
    """The Brave client configured from settings (raises InvalidInput when Brave is not set up)."""
    key = settings.brave_api_key.get_secret_value() if settings.brave_api_key else ""
    return BraveSearch(
        api_key=key,
        base_url=settings.brave_base_url,
        limiter=token_bucket(key="brave", rate=settings.search_rate_per_second, redis=redis),
        redis=redis,
    )
