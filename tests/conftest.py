"""Test set-up shared by every suite.

Storage: with ``DATABASE_URL`` set (CI's PostgreSQL run) tests use that database; otherwise a
fresh SQLite file in a temporary folder. The schema is built by the real Alembic migrations once
per session. Tests share the database and isolate themselves with fresh workspaces and random
identifiers, so services commit for real (as they do in production, and as RQ workers need).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="leadscout-tests-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_TMP / 'test.db'}")
os.environ["DATA_DIR"] = str(_TMP / "data")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
# Tests sign up one account (and workspace) each; sign-up after the first is by invitation by default,
# which test_invitations.py and test_config.py check with OPEN_SIGNUP unset or false.
os.environ.setdefault("OPEN_SIGNUP", "true")
# A test never reaches a real provider: clear any key a developer's shell or .env might carry.
for _name in (
    "OPENAI_API_KEY",
    "BRAVE_API_KEY",
    "SENDGRID_API_KEY",
    "MAILGUN_API_KEY",
    "TWILIO_AUTH_TOKEN",
    "SUPABASE_URL",
    "SUPABASE_ANON_KEY",
    "SMTP_HOST",
):
    os.environ[_name] = ""

# DNS for the address checks before sending: a real DNS server on loopback that gives every domain
# an MX record (tests/integration/test_address_checks.py runs its own with NXDOMAIN, A-only, time-outs),
# so no test asks a real resolver. Processes a test starts (workers, the CLI) inherit the variable and
# use the same server; a developer's own DNS_NAMESERVERS is overridden.
if os.environ.get("LEADSCOUT_TEST_DNS"):
    os.environ["DNS_NAMESERVERS"] = os.environ["LEADSCOUT_TEST_DNS"]
else:
    from tests.fixtures.dns_server import LocalDNS, Zones

    _DNS = LocalDNS(Zones(catch_all=True)).start()
    os.environ["DNS_NAMESERVERS"] = os.environ["LEADSCOUT_TEST_DNS"] = _DNS.nameserver

from core.config import get_settings  # noqa: E402
from core.db import (  # noqa: E402
    UnitOfWork,
    get_engine,
    migrate,  # noqa: E402
)

TEST_TMP = _TMP


@pytest.fixture(autouse=True)
def _no_ui_ticker() -> Iterator[None]:
    """Importing server.py (a few tests do) starts the embedded periodic-job ticker in the test process; its
    scheduled sender would send other tests' queued messages through the outbox. No test relies on it."""
    from core.background import schedule

    schedule.stop_in_ui_process()
    yield


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    """The migrated test database's URL (downgraded to nothing first, so every run starts clean).

    Every suite but ``tests/unit`` uses it (see their conftest files); unit tests need no database.
    """
    get_settings.cache_clear()
    url = get_settings().resolved_database_url
    migrate.downgrade(url)
    migrate.upgrade(url)
    yield url


@pytest.fixture
def uow(database: str) -> UnitOfWork:
    """A unit of work on the test database."""
    return UnitOfWork(get_engine())


def unique(prefix: str = "t") -> str:
    """A random identifier, so tests sharing a database never collide."""
    return f"{prefix}-{secrets.token_hex(4)}"


def make_owner():
    """Sign up a new user who owns a fresh workspace; return them as an ``Actor``."""
    from core.auth import service as auth

    email = f"{unique('owner')}@example.test"
    auth.sign_up(email=email, password="correct horse battery", workspace_name=unique("ws"))
    signed = auth.sign_in(email=email, password="correct horse battery")
    workspace_id = signed.workspaces[0][0]
    return auth.actor_for(user_id=signed.user_id, workspace_id=workspace_id)


def invitation_token(actor, email: str) -> str:
    """The token of ``email``'s open invitation, read from the link the team page shows."""
    from urllib.parse import parse_qs, urlsplit

    from core.auth import team

    [link] = [i.link for i in team.pending_invitations(actor=actor) if i.email == email.lower()]
    return parse_qs(urlsplit(link).query)["invite"][0]


@pytest.fixture
def session_dns():
    """The session's loopback DNS server (this process's): tests add names to its zones, e.g. NXDOMAIN ones."""
    server = globals().get("_DNS")
    if server is None:
        pytest.skip("the session DNS server runs in the parent test process")
    return server


@pytest.fixture
def owner(database: str):
    """A fresh workspace with its owner, as an ``Actor``."""
    return make_owner()
