"""Each outreach channel is paced on its own token bucket: the second send waits, another channel does not."""

from __future__ import annotations

import time

from core.outreach.limits import ChannelPacers


def test_a_channel_waits_for_its_own_rate_and_not_for_another_channels():
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    pacers = ChannelPacers(10.0, sleep=sleep)
    pacers.acquire("email")
    pacers.acquire("sms")
    assert waits == []  # each channel's first send goes at once
    pacers.acquire("email")
    assert waits and 0 < sum(waits) <= 0.1  # the second email waited for the next tenth of a second
