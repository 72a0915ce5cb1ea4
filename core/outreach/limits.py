"""Sending limits: the recipient's local sending window, per-sender daily caps, per-channel rate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_zones

from core.ratelimit import LocalTokenBucket, RateLimiter

DEFAULT_WINDOW = (8, 20)  # local hours [start, end)
DEFAULT_WEEKDAYS = (0, 1, 2, 3, 4)  # Monday..Friday
DEFAULT_DAILY_CAPS = {"email": 200, "sms": 100}


@lru_cache(maxsize=1)
def _zones_by_country() -> dict[str, tuple[str, ...]]:
    zones: dict[str, list[str]] = {}
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            zones.setdefault(parts[0].upper(), []).append(parts[2])
    return {code: tuple(names) for code, names in zones.items()}


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def recipient_zones(*, location: str, country: str, phone: str = "", fallback: str = "UTC") -> tuple[ZoneInfo, ...]:
    """The recipient's possible time zones: a city named in the location, else the phone's or
    country's zones (all of them, so the window holds everywhere), else the workspace's zone."""
    candidates: tuple[str, ...] = ()
    if phone:
        try:
            parsed = phonenumbers.parse(phone, country.upper() or None)
            candidates = tuple(z for z in phone_zones.time_zones_for_number(parsed) if z != "Etc/Unknown")
        except phonenumbers.NumberParseException:
            candidates = ()
    if not candidates and country:
        candidates = _zones_by_country().get(country.upper(), ())
    lowered = location.lower()
    named = [z for z in candidates if z.rsplit("/", 1)[-1].replace("_", " ").lower() in lowered]
    chosen = named[:1] or list(candidates)
    zones = tuple(zone for name in chosen if (zone := _zone(name)) is not None)
    return zones or (_zone(fallback) or ZoneInfo("UTC"),)


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


def daily_cap(settings: Mapping[str, Any], channel: str) -> int | None:
    """The per-sender daily cap for a channel (None = unlimited)."""
    caps = {**DEFAULT_DAILY_CAPS, **(settings.get("daily_caps") or {})}
    value = caps.get(channel)
    return None if value in (None, 0, "") else int(value)


def start_of_day(now: datetime, zone_name: str) -> datetime:
    """Midnight of ``now``'s day in the workspace's time zone."""
    zone = _zone(zone_name) or ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local - timedelta(
        hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )


class ChannelPacers:
    """At most ``rate`` sends per second on each channel, one token bucket per channel (``core.ratelimit``)."""

    def __init__(self, rate: float, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._rate, self._sleep = rate, sleep
        self._buckets: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    def acquire(self, channel: str) -> None:
        """Block until the next send on ``channel`` is allowed."""
        with self._lock:
            bucket = self._buckets.get(channel)
            if bucket is None:
                bucket = self._buckets[channel] = LocalTokenBucket(rate=self._rate, sleep=self._sleep)
        bucket.acquire()
