"""Working days: a step's delay counts only the days the workspace sends on (its sending weekdays)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.outreach.limits import DEFAULT_WEEKDAYS, window_of
from core.zones import zone_named


def working_days(workspace_settings: Mapping[str, Any]) -> tuple[int, ...]:
    """The workspace's working weekdays (0 = Monday); Monday to Friday when none are chosen."""
    return window_of(workspace_settings)[2] or DEFAULT_WEEKDAYS


def add_working_days(start: datetime, days: int, workspace_settings: Mapping[str, Any]) -> datetime:
    """The start (local midnight) of the ``days``-th working day after ``start``'s day; ``start`` itself for 0.

    Counted in the workspace's time zone; the sender then waits for the recipient's sending window."""
    if days <= 0:
        return start
    zone = zone_named(workspace_settings.get("timezone") or "UTC") or ZoneInfo("UTC")
    weekdays = working_days(workspace_settings)
    day = start.astimezone(zone).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if day.weekday() in weekdays:
            counted += 1
    return datetime.combine(day, time(0, 0), tzinfo=zone)
