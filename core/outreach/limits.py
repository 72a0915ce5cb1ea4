"""Sending limits: the recipient's local sending window, per-sender daily caps, per-channel rate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.ratelimit import RateLimiter, token_bucket
from core.zones import country_zones, phone_zones_of, zone_named, zones_named_in

DEFAULT_WINDOW = (8, 20)  # local hours [start, end)
DEFAULT_WEEKDAYS = (0, 1, 2, 3, 4)  # Monday..Friday
DEFAULT_DAILY_CAPS = {"email": 200, "sms": 100}


def recipient_zones(*, location: str, country: str, phone: str = "", fallback: str = "UTC") -> tuple[ZoneInfo, ...]:
    """The recipient's possible time zones: a city named in the location, else the phone's or
    country's zones (all of them, so the window holds everywhere), else the workspace's zone."""
    candidates = phone_zones_of(phone, country) or country_zones(country)
    chosen = zones_named_in(candidates, location)[:1] or list(candidates)
    zones = tuple(found for name in chosen if (found := zone_named(name)) is not None)
    return zones or (zone_named(fallback) or ZoneInfo("UTC"),)


def window_of(settings: Mapping[str, Any]) -> tuple[int, int, tuple[int, ...]]:
    """The workspace's sending window: (start hour, end hour, weekdays)."""
    window = settings.get("send_window") or DEFAULT_WINDOW
    days = settings.get("send_weekdays")
    return int(window[0]), int(window[1]), tuple(days if days is not None else DEFAULT_WEEKDAYS)


def in_window(now: datetime, zones: tuple[ZoneInfo, ...], window: tuple[int, int, tuple[int, ...]]) -> bool:
    """True when ``now`` falls inside the window in every one of the recipient's zones."""
    start, end, weekdays = window
    for zone in zones:
        local = now.astimezone(zone)
        if local.weekday() not in weekdays or not start <= local.hour < end:
            return False
    return True


def next_send_at(
    now: datetime, zones: tuple[ZoneInfo, ...], window: tuple[int, int, tuple[int, ...]], *, days: int = 8
) -> datetime | None:
    """The first moment from ``now`` inside the window in every zone (quarter-hour steps), or None within ``days``."""
    if in_window(now, zones, window):
        return now
    if not window[2] or window[0] >= window[1]:
        return None
    step = timedelta(minutes=15)  # every UTC offset in use is a multiple of 15 minutes
    moment = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 15)
    for _ in range(days * 24 * 4):
        moment += step
        if in_window(moment, zones, window):
            return moment
    return None


def daily_cap(settings: Mapping[str, Any], channel: str) -> int | None:
    """The per-sender daily cap for a channel (None = unlimited)."""
    caps = {**DEFAULT_DAILY_CAPS, **(settings.get("daily_caps") or {})}
    value = caps.get(channel)
    return None if value in (None, 0, "") else int(value)


def start_of_day(now: datetime, zone_name: str) -> datetime:
    """Midnight of ``now``'s day in the workspace's time zone."""
    zone = zone_named(zone_name) or ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local - timedelta(
        hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )


class ChannelPacers:
    """At most ``rate`` sends per second on each channel, one token bucket per channel (``core.ratelimit``).

    With a Redis client the buckets live in Redis (``leadscout:ratelimit:outreach:<channel>``), so
    every worker of the deployment shares the one rate; without, they are this process's own.
    """

    def __init__(self, rate: float, *, sleep: Callable[[float], None] = time.sleep, redis: Any | None = None) -> None:
        self._rate, self._sleep, self._redis = rate, sleep, redis
        self._buckets: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        """True when the rate holds across processes (Redis)."""
        return self._redis is not None

    def acquire(self, channel: str) -> None:
        """Block until the next send on ``channel`` is allowed."""
        with self._lock:
            bucket = self._buckets.get(channel)
            if bucket is None:
                bucket = self._buckets[channel] = token_bucket(
                    key=f"outreach:{channel}", rate=self._rate, redis=self._redis, sleep=self._sleep
                )
        bucket.acquire()
