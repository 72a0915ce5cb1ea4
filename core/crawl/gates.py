"""Politeness: per-host concurrency and spacing between requests to the same host."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class _Gate:
    __slots__ = ("semaphore", "next_start", "users")

    def __init__(self, concurrency: int) -> None:
        self.semaphore = asyncio.Semaphore(concurrency)
        self.next_start = 0.0
        self.users = 0


class HostGates:
    """At most ``concurrency`` requests per host at once, each starting ``delay`` after the last."""

    def __init__(self, *, concurrency: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._concurrency = concurrency
        self._clock = clock
        self._gates: dict[str, _Gate] = {}

    @asynccontextmanager
    async def slot(self, host: str, delay: float) -> AsyncIterator[None]:
        """Hold one of ``host``'s slots, waiting for its politeness delay first."""
        gate = self._gates.get(host)
        if gate is None:
            if len(self._gates) > 1000:
                self._sweep()
            gate = self._gates[host] = _Gate(self._concurrency)
        gate.users += 1
        try:
            async with gate.semaphore:
                now = self._clock()
                start = max(now, gate.next_start)
                gate.next_start = start + delay
                if start > now:
                    await asyncio.sleep(start - now)
                yield
        finally:
            gate.users -= 1
            # Forget idle hosts so a long crawl does not keep one gate per site ever seen,
            # but only once their delay has passed, so spacing still holds.
            if gate.users == 0 and gate.next_start <= self._clock():
                self._gates.pop(host, None)

    def _sweep(self) -> None:
        now = self._clock()
        for host in [h for h, g in self._gates.items() if g.users == 0 and g.next_start <= now]:
            del self._gates[host]
