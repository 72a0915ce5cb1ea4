"""The Brave client through the shared rate limiter, against a local Brave-speaking server."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator

import pytest
import redis as redis_lib

from core.errors import QuotaExceeded, SearchError
from core.ratelimit import LocalTokenBucket, RedisTokenBucket
from core.search import BraveSearch, select_candidates
from tests.fixtures.brave_server import FakeBrave


@pytest.fixture
def redis_client() -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis_lib.RedisError:
        pytest.skip("Redis is not running (set REDIS_URL)")
    yield client
    client.close()


def max_in_any_window(times: list[float], window: float) -> int:
    """The most requests the server saw in any window of ``window`` seconds starting at a request."""
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + window:
            j += 1
        best = max(best, j - i)
    return best


def test_workers_sharing_a_redis_bucket_never_exceed_the_rate(redis_client: redis_lib.Redis) -> None:
    rate, key = 8.0, f"test:brave:{secrets.token_hex(4)}"
    with FakeBrave(api_key="k") as brave:
        # Four "workers", each with its own client and limiter object, sharing one Redis bucket.
        def worker() -> None:
            limiter = RedisTokenBucket(redis=redis_client, key=key, rate=rate)
            client = BraveSearch(api_key="k", base_url=brave.base_url, limiter=limiter)
            for n in range(6):
                client.search(f"query {n}")
            client.close()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(brave.hits) == 24
        # A bucket of rate r and burst 1 lets at most r*W + 1 requests into any window of W seconds.
        assert max_in_any_window(brave.hits, 1.0) <= rate + 1
        assert max_in_any_window(brave.hits, 0.5) <= rate * 0.5 + 1
    redis_client.delete(key)


def test_in_process_bucket_never_exceeds_the_rate() -> None:
    rate = 10.0
    limiter = LocalTokenBucket(rate=rate)
    with FakeBrave(api_key="k") as brave:
        client = BraveSearch(api_key="k", base_url=brave.base_url, limiter=limiter)
        threads = [threading.Thread(target=lambda: [client.search("q") for _ in range(5)]) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(brave.hits) == 15
        assert max_in_any_window(brave.hits, 1.0) <= rate + 1


def test_recovers_from_429_after_the_named_reset(redis_client: redis_lib.Redis) -> None:
    key = f"test:brave:{secrets.token_hex(4)}"
    with FakeBrave(api_key="k") as brave:
        brave.force_429, brave.force_reset = 2, 1
        limiter = RedisTokenBucket(redis=redis_client, key=key, rate=20.0)
        client = BraveSearch(api_key="k", base_url=brave.base_url, limiter=limiter, redis=redis_client)
        results = client.search("plumbers in leeds", count=10, country="GB", search_lang="en")
        assert len(results) == 10 and results[0].rank == 1
        assert len(brave.hits) == 3
        # The retry waited at least the reset Brave named (server-side gap, not client wall-clock).
        assert brave.hits[2] - brave.hits[1] >= 0.9
        assert brave.served[-1]["country"] == ["GB"] and brave.served[-1]["search_lang"] == ["en"]
        assert client.usage().used >= 3 and client.usage().remaining is not None
    redis_client.delete(key, f"leadscout:brave:searches:{client.usage().month}")


def test_server_side_rate_limit_is_respected_and_candidates_selected() -> None:
    with FakeBrave(api_key="k", rate_per_second=5) as brave:
        client = BraveSearch(api_key="k", base_url=brave.base_url, limiter=LocalTokenBucket(rate=5))
        results = [r for offset in range(3) for r in client.search("dental clinics", count=10, offset=offset)]
        assert [r.rank for r in results] == list(range(1, 31))
        candidates = select_candidates(results, known_domains={"dental-clinics-0.test"})
        domains = [c.domain for c in candidates]
        assert "dental-clinics-0.test" not in domains and "dental-clinics-1.test" in domains
        assert not any(d.endswith(("linkedin.com", "wikipedia.org", "yelp.com")) for d in domains)
        assert len(domains) == len(set(domains))


def test_bad_key_and_exhausted_quota_raise_clear_errors() -> None:
    with FakeBrave(api_key="right") as brave:
        client = BraveSearch(api_key="wrong", base_url=brave.base_url, limiter=LocalTokenBucket(rate=50))
        with pytest.raises(SearchError, match="API key"):
            client.search("x")
        brave.force_429, brave.force_reset = 1, 86400
        client = BraveSearch(api_key="right", base_url=brave.base_url, limiter=LocalTokenBucket(rate=50))
        with pytest.raises(QuotaExceeded, match="quota"):
            client.search("x")


def test_unreachable_brave_is_a_search_error() -> None:
    client = BraveSearch(
        api_key="k",
        base_url="http://127.0.0.1:9/res/v1",
        limiter=LocalTokenBucket(rate=100),
        max_retries=1,
        sleep=lambda _s: None,
    )
    with pytest.raises(SearchError, match="unreachable"):
        client.search("x")
