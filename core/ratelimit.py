"""Rate limits as token buckets: shared by every worker (Redis) or by the threads of one process.

One interface (``RateLimiter``: ``acquire`` and ``pause``) for every rate LeadScout keeps: Brave's
requests per second, and each outreach channel's sends per second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

# KEYS[1] = bucket; ARGV = rate per second, burst. Returns 0 when a token was taken, else the
# milliseconds to wait. Redis's own clock is used so workers on different machines agree.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'blocked_until')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
local blocked = tonumber(state[3]) or 0
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if blocked > now then
  wait = blocked - now
elseif tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst / rate + math.max(0, blocked - now)) * 1000) + 1000)
if wait > 0 then return math.max(1, math.ceil(wait * 1000)) end
return 0
"""

# KEYS[1] = bucket; ARGV[1] = seconds during which nobody may take a token.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until')) or 0
if until_ > blocked then redis.call('HSET', KEYS[1], 'blocked_until', tostring(until_)) end
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) * 1000) + 60000)
return 0
"""


class RateLimiter(Protocol):
    """Something that blocks until one more request may be made."""

    def acquire(self) -> None:
        """Block until a request may be made, then count it."""

    def pause(self, seconds: float) -> None:
        """Let nobody through for ``seconds`` (the provider said so)."""

    def try_take(self) -> float:
        """Take a token without waiting: 0 when taken, else the seconds until one is free."""


class LocalTokenBucket:
    """An in-process token bucket: ``rate`` requests per second with bursts of ``burst``."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._rate, self._burst = rate, float(burst)
        self._clock, self._sleep = clock, sleep
        self._tokens, self._stamp = float(burst), clock()
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    def _take(self) -> float:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + max(0.0, now - self._stamp) * self._rate)
            self._stamp = now
            if self._blocked_until > now:
                return self._blocked_until - now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self._rate

    def try_take(self) -> float:
        """Take a token now if there is one: 0, else the seconds until one is free."""
        return self._take()

    def acquire(self) -> None:
        """Block until a token is free and take it."""
        while (wait := self._take()) > 0:
            self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds``."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)


class RedisTokenBucket:
    """A token bucket in Redis, so every worker on every machine shares one rate."""

    def __init__(
        self,
        *,
        redis: Any,
        key: str,
        rate: float,
        burst: int = 1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._key, self._rate, self._burst, self._sleep = key, rate, burst, sleep
        self._take = redis.register_script(_TAKE)
        self._pause = redis.register_script(_PAUSE)

    def try_take(self) -> float:
        """Take a token from the shared bucket if there is one: 0, else the seconds until one is free."""
        return int(self._take(keys=[self._key], args=[self._rate, self._burst])) / 1000

    def acquire(self) -> None:
        """Block until the shared bucket hands out a token."""
        while (wait_ms := int(self._take(keys=[self._key], args=[self._rate, self._burst]))) > 0:
            self._sleep(wait_ms / 1000)

    def pause(self, seconds: float) -> None:
        """Hold every worker back for ``seconds``."""
        self._pause(keys=[self._key], args=[max(0.0, seconds)])


def token_bucket(
    *,
    key: str,
    rate: float,
    redis: Any | None = None,
    burst: int = 1,
    sleep: Callable[[float], None] = time.sleep,
) -> RateLimiter:
    """A bucket of ``rate`` per second named ``key``: shared through Redis when a client is given."""
    if redis is not None:
        return RedisTokenBucket(redis=redis, key=f"leadscout:ratelimit:{key}", rate=rate, burst=burst, sleep=sleep)
    return LocalTokenBucket(rate=rate, burst=burst, sleep=sleep)
