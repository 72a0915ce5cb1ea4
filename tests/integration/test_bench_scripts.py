"""The benchmark scripts keep running as the code under them moves (bench/send.py once called a function
that had moved to another module, and nothing noticed until someone ran it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT

# Every script (reference.py is a module the scripts import).
BENCH = sorted(p for p in (PROJECT_ROOT / "bench").glob("*.py") if "__main__" in p.read_text())


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("script", BENCH, ids=lambda path: Path(path).name)
def test_every_benchmark_starts(script: Path):
    done = _run(str(script.relative_to(PROJECT_ROOT)), "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_the_send_benchmark_sends_through_the_outbox():
    done = _run("bench/send.py", "--messages", "20")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "outbox -> SMTP, sqlite" in done.stdout and "goal (every outbox row" in done.stdout
