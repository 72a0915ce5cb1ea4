"""How LeadScout waits before trying a third-party service again: one backoff, one reading of Retry-After.

Used by the LLM client, the Brave client, the crawler and the outreach sender. (Background jobs
retry at the delays JOB_RETRY_DELAYS names; that is a schedule, not a backoff.)
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` value asks for (delta-seconds or an HTTP date), or None when it is neither."""
    if not value or not value.strip():
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT even when it does not say so
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - (now if now is not None else time.time()), 0.0)


def retry_after_seconds(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` in ``headers`` (any case), or None."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    return parse_retry_after(lowered.get("retry-after"), now=now)


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Exponential backoff with full jitter for try ``attempt`` (0-based); a server's Retry-After is a floor; capped."""
    jittered = rng() * base * (2**attempt)
    delay = max(jittered, retry_after or 0.0)
    return min(delay, cap)
