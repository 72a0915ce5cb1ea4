"""``python -m core plan`` in heuristic mode and against a local OpenAI-speaking server."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator

import pytest

from core.config import PROJECT_ROOT
from tests.fixtures.openai_server import FakeOpenAI
from tests.fixtures.strategy_answer import strategy_answer

KEYS = {"summary", "icp", "queries", "criteria", "rubric", "angle", "cost_preview", "mode"}
ICP_KEYS = {"industries", "locations", "company_size", "keywords", "signals", "exclusions"}


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(answer=strategy_answer()) as fake:
        yield fake


def plan(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "core", "plan", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )


def test_heuristic_plan_prints_the_strategy_json() -> None:
    result = plan("Dentists in Austin and Dallas, not chains", "--json", OPENAI_API_KEY="")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == KEYS and set(data["icp"]) == ICP_KEYS
    assert data["mode"] == "heuristic"
    assert data["icp"]["locations"] == ["Austin", "Dallas"] and data["icp"]["exclusions"] == ["chains"]
    assert all(set(q) == {"text", "intent"} for q in data["queries"])
    assert sum(f["weight"] for f in data["rubric"]) == 100


def test_llm_plan_goes_through_the_server_and_is_cached(server: FakeOpenAI) -> None:
    env = {"OPENAI_API_KEY": "sk-local", "OPENAI_BASE_URL": server.base_url, "LLM_MAX_RETRIES": "0"}
    goal = f"coffee roasters in Portland, OR ref {secrets.token_hex(4)}"
    first = plan(goal, "--json", **env)
    second = plan(goal, "--json", **env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert json.loads(first.stdout)["mode"] == "llm"
    assert json.loads(first.stdout) == json.loads(second.stdout)
    assert len(server.requests) == 1


def test_errors_go_to_stderr_with_a_non_zero_exit(server: FakeOpenAI) -> None:
    server.answer = "not json at all"
    env = {"OPENAI_API_KEY": "sk-local", "OPENAI_BASE_URL": server.base_url}
    result = plan(f"florists in Leeds {secrets.token_hex(4)}", "--json", **env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "error: The model's answer could not be read after 2 tries" in result.stderr
    empty = plan("  ", OPENAI_API_KEY="")
    assert empty.returncode == 1 and "Describe the goal" in empty.stderr
