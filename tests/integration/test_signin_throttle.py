"""The sign-in throttle holds under parallel guessing: an attempt is counted before its password is checked."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from core.auth import service as auth
from core.config import get_settings
from core.errors import PermissionDenied, QuotaExceeded
from tests.conftest import unique

PASSWORD = "the right password"


def outcome(email: str, password: str) -> str:
    """What one sign-in attempt came to: 'signed-in', 'wrong' (its password was checked) or 'throttled'."""
    try:
        auth.sign_in(email=email, password=password)
    except QuotaExceeded:
        return "throttled"
    except PermissionDenied as error:
        assert str(error) == "Wrong email or password."
        return "wrong"
    return "signed-in"


def parallel_guesses(email: str, passwords: list[str]) -> Counter[str]:
    """Every password tried at once, one thread each, released together."""
    start = threading.Barrier(len(passwords))
    results: list[str] = []

    def attempt(password: str) -> None:
        start.wait()
        results.append(outcome(email, password))

    threads = [threading.Thread(target=attempt, args=(password,)) for password in passwords]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(results)


def test_forty_parallel_wrong_passwords_check_at_most_the_limit():
    limit = get_settings().signin_max_failures
    email = f"{unique('guess')}@example.test"
    auth.sign_up(email=email, password=PASSWORD)

    results = parallel_guesses(email, [f"guess number {i}" for i in range(40)])

    print(f"40 parallel wrong passwords: {dict(results)} (limit {limit})")
    assert set(results) <= {"wrong", "throttled"}
    assert results["wrong"] <= limit  # only these were checked against the hash
    if results["wrong"] == limit:  # the address is locked now: even the right password waits
        assert outcome(email, PASSWORD) == "throttled"


def test_the_right_password_among_parallel_guesses_cannot_ride_past_the_limit():
    limit = get_settings().signin_max_failures
    email = f"{unique('ride')}@example.test"
    auth.sign_up(email=email, password=PASSWORD)
    for i in range(limit - 1):
        assert outcome(email, f"earlier guess {i}") == "wrong"

    results = parallel_guesses(email, [PASSWORD] + [f"guess number {i}" for i in range(39)])

    print(f"one right and 39 wrong in parallel after {limit - 1} failures: {dict(results)}")
    if results["signed-in"]:  # the right password took the last check: a success starts the count afresh
        assert results["wrong"] <= limit
    else:
        assert results["wrong"] <= 1  # one check was left before the lock


@pytest.mark.parametrize("failures", [0, 4])
def test_sequential_attempts_keep_the_old_rules(failures):
    limit = get_settings().signin_max_failures
    email = f"{unique('seq')}@example.test"
    auth.sign_up(email=email, password=PASSWORD)
    for i in range(failures):
        assert outcome(email, f"wrong {i}") == "wrong"
    assert outcome(email, PASSWORD) == "signed-in"  # a success resets the count
    for i in range(limit):
        assert outcome(email, f"wrong again {i}") == "wrong"
    assert outcome(email, PASSWORD) == "throttled"
    assert outcome(email, "another guess") == "throttled"
