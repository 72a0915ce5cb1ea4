"""Sending limits hold across worker processes: the per-channel rate through Redis, the daily cap in the database.

Two sender processes drain one workspace's queue against the local SendGrid-speaking server. The
rate is a token bucket in Redis (burst 1), so however the two interleave, the n-th send cannot come
before the bucket has refilled n - 1 times: the spread of the provider's arrival times is at least
(n - 1 - slack) / rate. Unshared buckets would allow twice the rate, about half that spread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from redis import Redis

from core.config import PROJECT_ROOT, get_settings
from core.outreach.limits import ChannelPacers
from tests.conftest import unique
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead
from tests.fixtures.outreach_servers import ProviderServer

RATE = 8.0  # sends per second for the whole deployment
CAP = 20  # the sender's daily cap; 24 queued, so 4 stay queued
SLACK = 3  # sends whose arrival may lag their token (process start, first connection)

WORKER_SCRIPT = """
import json, sys
from core.outreach import sender
from tests.fixtures.outreach_data import settings_for
sender.BATCH_SECONDS = 0.5  # claims of 4 messages at 8/s, so the two workers' batches interleave
settings = settings_for(sys.argv[2], provider="sendgrid", outreach_rate_per_second=float(sys.argv[3]),
                        redis_url=sys.argv[4] or None)
summary = sender.send_queued(workspace_id=int(sys.argv[1]), settings=settings)
print(json.dumps({"sent": summary.sent, "capped": summary.capped}))
"""


def run_two_workers(workspace_id: int, url: str, redis_url: str) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    args = [sys.executable, "-c", WORKER_SCRIPT, str(workspace_id), url, str(RATE), redis_url]
    workers = [subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE) for _ in range(2)]
    outputs = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        outputs.append(json.loads(out.decode().strip().splitlines()[-1]))
    return outputs


@pytest.mark.skipif(not get_settings().redis_url, reason="the shared rate needs REDIS_URL (the PostgreSQL suite)")
def test_two_worker_processes_share_one_rate_and_one_daily_cap(owner):
    redis_url = get_settings().redis_url or ""
    Redis.from_url(redis_url).delete("leadscout:ratelimit:outreach:email")
    configure_workspace(owner, daily_caps={"email": CAP})
    draft_and_queue(owner, [make_lead(owner, email=f"{unique('r')}@example.test") for _ in range(CAP + 4)])
    with ProviderServer() as providers:
        outputs = run_two_workers(owner.workspace_id, providers.url, redis_url)
        arrivals = sorted(call["received_at"] for call in providers.calls_to("sendgrid"))
    assert len(arrivals) == CAP  # the cap held across both processes
    assert sum(o["sent"] for o in outputs) == CAP
    assert all(o["sent"] > 0 for o in outputs), outputs  # both workers took part
    spread = arrivals[-1] - arrivals[0]
    assert spread >= (CAP - 1 - SLACK) / RATE, (spread, outputs)
    print(
        f"\ntwo workers, rate {RATE}/s shared: {CAP} sends spread over {spread:.2f}s "
        f"(>= {(CAP - 1 - SLACK) / RATE:.2f}s), per worker {[o['sent'] for o in outputs]}"
    )


class Waited(Exception):
    """Raised by the injected sleep: the pacer asked to wait."""


def told_to_wait(seconds: float) -> None:
    raise Waited(seconds)


def test_two_pacers_share_the_bucket_only_through_redis():
    # Two pacers stand for two processes. Without Redis each has its own bucket: both send at once.
    first, second = ChannelPacers(0.5, sleep=told_to_wait), ChannelPacers(0.5, sleep=told_to_wait)
    first.acquire("email")
    second.acquire("email")
    assert not first.shared
    with pytest.raises(Waited):  # but one pacer keeps its own rate
        first.acquire("email")
    redis_url = get_settings().redis_url
    if not redis_url:
        pytest.skip("the Redis half needs REDIS_URL (the PostgreSQL suite)")
    client = Redis.from_url(redis_url)
    client.delete("leadscout:ratelimit:outreach:sms")
    first, second = (ChannelPacers(0.5, sleep=told_to_wait, redis=client) for _ in range(2))
    assert first.shared
    first.acquire("sms")
    with pytest.raises(Waited) as waited:  # the other "process" finds the token taken
        second.acquire("sms")
    assert waited.value.args[0] > 0
