"""The whole LeadScout stack on one machine, for the browser journey and the load benchmark.

Starts, as real processes: the UI (``streamlit run server.py``), the receiver (uvicorn) and an
``rq worker`` on real Redis, all on a fresh PostgreSQL database; and, in threads, local servers
that speak OpenAI, Brave and SendGrid plus the fixture company websites. Every process gets the
same environment, so the worker's crawler reaches the fixture sites through CRAWL_RESOLVE.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from core.config import PROJECT_ROOT
from tests.fixtures.brave_server import FixtureBrave
from tests.fixtures.openai_server import FakeOpenAI
from tests.fixtures.outreach_servers import ProviderServer
from tests.fixtures.site_server import SiteServer
from tests.fixtures.sites import FixtureSite

POSTGRES = os.environ.get("E2E_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/13")
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200 (a bound on start-up, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f}s")


@dataclass
class Stack:
    """URLs, servers and processes of a running stack."""

    env: dict[str, str]
    app_url: str
    receiver_url: str
    database_url: str
    openai: FakeOpenAI
    brave: FixtureBrave
    sendgrid: ProviderServer
    sites: list[FixtureSite]
    site_server: SiteServer
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)

    def restart(self, name: str) -> None:
        """Stop a process (SIGTERM, as a deploy does) and start it again: a server restart."""
        proc = self.processes.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            self.commands[name], cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if name == "app":
            wait_http(f"{self.app_url}/_stcore/health")

    def start_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        """Start (another) ``rq worker`` on every queue."""
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [str(BIN / "rq"), "worker", "--worker-class", "workers.tasks.Worker", "crawl", "llm", "send", "default",
             "--with-scheduler", "--url", self.env["REDIS_URL"]],  # as `make worker`: it ticks the periodic jobs
            cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.processes[name] = proc
        return proc

    def kill(self, name: str) -> None:
        """SIGKILL a process and everything it forked (a worker and its work horse)."""
        proc = self.processes.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)


def run_stack(
    *, sites: list[FixtureSite], answer_for: Any, logs: Path, extra_env: dict[str, str] | None = None, latency: bool = False,
    open_signup: bool = True,
) -> Any:
    """Context manager yielding a running ``Stack``; everything stops on exit.

    ``open_signup`` sets OPEN_SIGNUP=true (the tests sign up an account per test); False leaves the default.
    """
    from contextlib import contextmanager

    @contextmanager
    def _stack():  # type: ignore[no-untyped-def]
        logs.mkdir(parents=True, exist_ok=True)
        db_name = f"leadscout_e2e_{secrets.token_hex(4)}"
        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        database_url = POSTGRES.rsplit("/", 1)[0] + "/" + db_name
        from redis import Redis

        Redis.from_url(REDIS).flushdb()
        with ExitStack() as stack:
            site_server = stack.enter_context(SiteServer(sites, latency=latency))
            openai = stack.enter_context(FakeOpenAI())
            openai.answer_for = answer_for
            brave = stack.enter_context(FixtureBrave([site_server.url_of(s) for s in sites]))
            sendgrid = stack.enter_context(ProviderServer())
            app_port, receiver_port = free_port(), free_port()
            app_url, receiver_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{receiver_port}"
            env = {
                **{k: v for k, v in os.environ.items()
                   if not k.startswith(("DATABASE_", "REDIS_", "OPENAI_", "BRAVE_", "SENDGRID_", "OPEN_SIGNUP"))},
                "PYTHONPATH": str(PROJECT_ROOT),
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS,
                "DATA_DIR": str(logs / "data"),
                "SECRET_KEY": secrets.token_urlsafe(48),
                "LOG_LEVEL": "INFO",
                "OPENAI_API_KEY": "sk-e2e-" + secrets.token_hex(8),
                "OPENAI_BASE_URL": openai.base_url,
                "LLM_BACKOFF_BASE_SECONDS": "0.05",
                "BRAVE_API_KEY": brave.api_key,
                "BRAVE_BASE_URL": brave.base_url,
                "SEARCH_RATE_PER_SECOND": "20",
                "SENDGRID_API_KEY": "SG.e2e-" + secrets.token_hex(8),
                "SENDGRID_BASE_URL": sendgrid.url,
                "OUTREACH_EMAIL_PROVIDER": "sendgrid",
                "OUTREACH_FROM_EMAIL": "ana@seller-co.de",  # not a placeholder domain: the send preflight would hold it back
                "OUTREACH_FROM_NAME": "Ana from Seller",
                "OUTREACH_RATE_PER_SECOND": "50",
                "PUBLIC_BASE_URL": receiver_url,
                "RECEIVER_URL": receiver_url,
                "CRAWL_ALLOW_PRIVATE": "127.0.0.1/32",
                "CRAWL_ALLOWED_PORTS": f"80,443,{site_server.port}",
                "CRAWL_RESOLVE": "*.test=127.0.0.1",
                "CRAWL_PER_HOST_DELAY": "0",
                "JOB_RETRY_DELAYS": "[1]",
                **({"OPEN_SIGNUP": "true"} if open_signup else {}),
                **(extra_env or {}),
            }
            subprocess.run([sys.executable, "-m", "core", "migrate"], cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)
            running = Stack(env=env, app_url=app_url, receiver_url=receiver_url, database_url=database_url, openai=openai,
                            brave=brave, sendgrid=sendgrid, sites=sites, site_server=site_server, logs=logs)
            commands = {
                "app": [str(BIN / "streamlit"), "run", "server.py", "--server.address", "127.0.0.1", "--server.port", str(app_port)],
                "receiver": [str(BIN / "uvicorn"), "workers.receiver:app", "--host", "127.0.0.1", "--port", str(receiver_port)],
            }
            running.commands.update(commands)
            try:
                for name, command in commands.items():
                    log = open(logs / f"{name}.log", "ab")  # noqa: SIM115
                    running.processes[name] = subprocess.Popen(
                        command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
                running.start_worker()
                wait_http(f"{app_url}/_stcore/health")
                wait_http(f"{receiver_url}/healthz")
                yield running
            finally:
                for name in list(running.processes):
                    proc = running.processes[name]
                    try:
                        os.killpg(proc.pid, signal.SIGTERM)
                        proc.wait(10)
                    except (ProcessLookupError, subprocess.TimeoutExpired):
                        running.kill(name)
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
                admin.dispose()

    return _stack()


def schema_name(payload: dict[str, Any]) -> str:
    """The name of the JSON schema an OpenAI request asks for (which prompt is speaking)."""
    return str(((payload.get("response_format") or {}).get("json_schema") or {}).get("name", ""))


def user_data(payload: dict[str, Any]) -> str:
    """The user message of a chat request (the delimited data)."""
    messages = payload.get("messages") or []
    return str(messages[-1].get("content", "")) if messages else ""


def dump(value: Any) -> str:
    """JSON text for a fake completion."""
    return json.dumps(value)
