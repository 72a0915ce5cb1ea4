"""robots.txt (RFC 9309) with Protego, on text the crawler fetched itself; cached per origin."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from protego import Protego


@dataclass(frozen=True)
class RobotsRules:
    """The rules of one origin: allow all, disallow all, or a parsed robots.txt."""

    mode: str  # "parsed" | "allow_all" | "disallow_all"
    parser: Protego | None = None
    reason: str = ""
    log: tuple[Any, ...] = ()  # the crawl log entries of fetching robots.txt

    def allows(self, url: str, token: str) -> bool:
        """True when ``token`` may fetch ``url``."""
        if self.mode == "allow_all":
            return True
        if self.mode == "disallow_all" or self.parser is None:
            return False
        return bool(self.parser.can_fetch(url, token))

    def crawl_delay(self, token: str) -> float:
        """The Crawl-delay for ``token`` in seconds (0 when none is given)."""
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(token)
        return float(delay) if delay else 0.0

    def sitemaps(self) -> list[str]:
        """The Sitemap: URLs the file names."""
        return list(self.parser.sitemaps) if self.parser is not None else []


def rules_from_response(status: int | None, body: bytes, error: str = "") -> RobotsRules:
    """RFC 9309 §2.3.1: 2xx parse; 4xx (but 429) allow all; 5xx, 429 or unreachable disallow all."""
    if status is not None and 200 <= status < 300:
        text = body.decode("utf-8", errors="replace")
        return RobotsRules(mode="parsed", parser=Protego.parse(text))
    if status is not None and 400 <= status < 500 and status != 429:
        return RobotsRules(mode="allow_all", reason=f"robots.txt answered {status}")
    return RobotsRules(mode="disallow_all", reason=error or f"robots.txt answered {status}")


class RobotsCache:
    """robots.txt rules per origin, fetched once (concurrent callers wait) and kept for ``ttl``."""

    def __init__(
        self,
        *,
        fetch: Callable[[str], Awaitable[RobotsRules]],
        ttl: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 50_000,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._entries: dict[str, tuple[float, RobotsRules]] = {}
        self._pending: dict[str, asyncio.Future[RobotsRules]] = {}

    async def rules(self, origin: str) -> tuple[RobotsRules, bool]:
        """The rules for ``origin`` ("https://host:port") and whether this call fetched them."""
        cached = self._entries.get(origin)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1], False
        pending = self._pending.get(origin)
        if pending is not None:
            return await asyncio.shield(pending), False
        future: asyncio.Future[RobotsRules] = asyncio.get_running_loop().create_future()
        self._pending[origin] = future
        try:
            rules = await self._fetch(origin)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters (if any) re-raise it themselves
            raise
        finally:
            self._pending.pop(origin, None)
        future.set_result(rules)
        if len(self._entries) >= self._max:
            self._entries.pop(next(iter(self._entries)))
        self._entries[origin] = (self._clock(), rules)
        return rules, True
