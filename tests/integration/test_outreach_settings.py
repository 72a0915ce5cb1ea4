"""Outreach settings: daily sending caps are whole numbers within bounds, stored per channel."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.outreach import limits, sending_settings


def stored_caps(actor):
    return sending_settings.get_outreach_settings(actor=actor)["daily_caps"]


def test_daily_caps_are_stored_and_zero_or_empty_means_no_cap(owner):
    assert limits.daily_cap(sending_settings.get_outreach_settings(actor=owner), "email") == limits.DEFAULT_DAILY_CAPS["email"]
    sending_settings.update_outreach_settings(actor=owner, daily_caps={"email": 250, "sms": 0})
    assert stored_caps(owner) == {"email": 250, "sms": 0}
    current = sending_settings.get_outreach_settings(actor=owner)
    assert (limits.daily_cap(current, "email"), limits.daily_cap(current, "sms")) == (250, None)

    sending_settings.update_outreach_settings(actor=owner, daily_caps={"sms": 40})  # one channel: the other keeps its cap
    assert stored_caps(owner) == {"email": 250, "sms": 40}
    sending_settings.update_outreach_settings(actor=owner, daily_caps={"email": "", "sms": sending_settings.MAX_DAILY_CAP})
    assert stored_caps(owner) == {"email": 0, "sms": sending_settings.MAX_DAILY_CAP}


@pytest.mark.parametrize("caps, message", [
    ({"email": -1}, "daily email cap must be a whole number from 0 \\(no cap\\) to 100,000, not '-1'"),
    ({"sms": sending_settings.MAX_DAILY_CAP + 1}, "daily SMS cap must be a whole number from 0"),
    ({"email": 2.5}, "whole number"),
    ({"email": "200"}, "whole number"),
    ({"email": True}, "whole number"),
    ({"fax": 10}, "no daily cap for 'fax'; caps exist for email and sms"),
    (200, "given per channel"),
])
def test_bad_daily_caps_are_refused_with_what_to_enter_and_change_nothing(owner, caps, message):
    sending_settings.update_outreach_settings(actor=owner, daily_caps={"email": 300, "sms": 30})
    with pytest.raises(InvalidInput, match=message):
        sending_settings.update_outreach_settings(actor=owner, daily_caps=caps, postal_address="1 New Road")
    assert stored_caps(owner) == {"email": 300, "sms": 30}
    assert sending_settings.get_outreach_settings(actor=owner)["postal_address"] is None
