"""A step's delay in working days: the workspace's sending weekdays, counted in its time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.sequences.calendar import add_working_days

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = {"timezone": "Europe/Berlin", "send_weekdays": [0, 1, 2, 3, 4]}
FRIDAY_EVENING = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)  # Friday 18:30 in Berlin


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1, datetime(2026, 12, 7, tzinfo=BERLIN)),  # over the weekend to Monday
        (2, datetime(2026, 12, 8, tzinfo=BERLIN)),
        (5, datetime(2026, 12, 11, tzinfo=BERLIN)),  # a whole working week
        (6, datetime(2026, 12, 14, tzinfo=BERLIN)),
    ],
)
def test_working_days_skip_the_weekend(days, expected):
    assert add_working_days(FRIDAY_EVENING, days, WEEKDAYS) == expected


def test_no_delay_is_the_moment_itself():
    assert add_working_days(FRIDAY_EVENING, 0, WEEKDAYS) == FRIDAY_EVENING


def test_the_workspace_zone_decides_the_day():
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # Sunday in UTC, already Monday 00:30 in Berlin
    assert add_working_days(late, 1, WEEKDAYS) == datetime(2026, 12, 8, tzinfo=BERLIN)
    utc_week = {"timezone": "UTC", "send_weekdays": [0, 1, 2, 3, 4]}
    assert add_working_days(late, 1, utc_week) == datetime(2026, 12, 7, tzinfo=ZoneInfo("UTC"))


def test_a_saturday_working_week_counts_saturday():
    six_days = {"timezone": "Europe/Berlin", "send_weekdays": [0, 1, 2, 3, 4, 5]}
    assert add_working_days(FRIDAY_EVENING, 1, six_days) == datetime(2026, 12, 5, tzinfo=BERLIN)


def test_no_chosen_days_falls_back_to_monday_to_friday():
    assert add_working_days(FRIDAY_EVENING, 1, {"timezone": "Europe/Berlin", "send_weekdays": []}) == datetime(
        2026, 12, 7, tzinfo=BERLIN
    )
