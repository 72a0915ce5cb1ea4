"""Schemathesis against the live web service: every operation of /api/v1/openapi.json, its stateful links
(create → read → update → delete), no 5xx, and every response conforming to the document.

The application is the real one (``api.app.create_app``) served by uvicorn on a loopback port, on the test
database of this run (SQLite, or PostgreSQL in CI's second and third suites); Schemathesis runs as its own
process (its CLI), exactly as a developer would run it against a deployment, and its summary is printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import get_settings
from tests.fixtures.api_data import add_reply_and_sequence, seeded_workspace
from tests.fixtures.api_server import serve

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
HOOKS = Path(__file__).parents[1] / "fixtures" / "schemathesis_hooks.py"
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))
SEED = os.environ.get("SCHEMATHESIS_SEED", "15")  # fixed: the same cases every run; set another to explore


@pytest.fixture
def unlimited(monkeypatch):
    """Schemathesis sends hundreds of requests a second with one key: lift the per-key rate limit for it."""
    monkeypatch.setenv("API_RATE_PER_SECOND", "100000")
    monkeypatch.setenv("API_RATE_BURST", "100000")
    # Runs Schemathesis starts crawl its made-up websites in this process: a port no made-up URL names keeps
    # every one of them from reaching the network (the crawler checks the port before it resolves a name).
    monkeypatch.setenv("CRAWL_ALLOWED_PORTS", "9")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(unlimited, tmp_path):
    from api.app import create_app

    seeded = seeded_workspace(leads=5)
    add_reply_and_sequence(seeded)  # so the replies and sequences operations meet records, not only 404s
    with serve(create_app()) as url:
        done = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                f"{url}/api/v1/openapi.json",
                "--checks",
                "all",
                # Replaced by valid_request_passes_request_validation (tests/fixtures/schemathesis_hooks.py says why).
                "--exclude-checks",
                "positive_data_acceptance",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                SEED,
                "--workers",
                "2",
                "--header",
                f"Authorization: Bearer {seeded.key}",
                "--request-timeout",
                "30",
                "--report",
                "junit",
                "--report-dir",
                str(tmp_path),
                "--output-truncate",
                "false",
            ],
            capture_output=True,
            text=True,
            timeout=840,
            check=False,
            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": str(HOOKS)},
        )
    print(done.stdout[-20000:])
    assert done.returncode == 0, done.stdout[-30000:] + done.stderr[-5000:]
