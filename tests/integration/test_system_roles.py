"""Issue 18 item 19: server details (database path or URL, Redis, queues, workers, size) only for owners and
admins; sign-up after the first account only by invitation unless OPEN_SIGNUP is set."""

from __future__ import annotations

import pytest

from core.auth import service as auth
from core.auth import team
from core.config import Settings, get_settings
from core.errors import PermissionDenied
from core.monitoring import health as system
from tests.conftest import unique


def crew(owner):
    ids = {role: team.add_member(actor=owner, email=f"{unique(role)}@example.test", role=role) for role in ("admin", "member")}
    return {"owner": owner, **{r: auth.actor_for(user_id=i, workspace_id=owner.workspace_id) for r, i in ids.items()}}


def test_members_see_whether_things_work_not_where_the_server_keeps_them(owner):
    people = crew(owner)
    where = get_settings().resolved_database_url.split("///")[-1].split("@")[-1]
    for role in ("owner", "admin"):
        details = system.health(actor=people[role])
        database = next(c for c in details.checks if c.name == "Database")
        assert database.ok and where in database.detail and "schema revision" in database.detail
        assert system.activity(actor=people[role]).database_bytes
    shown = system.health(actor=people["member"])
    assert [c.name for c in shown.checks] == [c.name for c in system.health(actor=owner).checks]
    assert [c.detail for c in shown.checks] == [
        "Working" if c.ok else "Not working: ask an owner or admin" for c in shown.checks
    ]
    assert all(where not in c.detail for c in shown.checks)
    assert shown.queues == () and shown.workers == ()
    assert system.activity(actor=people["member"]).database_bytes is None
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        system.rq_jobs(actor=people["member"], registry="failed")


def test_open_signup_is_off_by_default(monkeypatch):
    monkeypatch.delenv("OPEN_SIGNUP", raising=False)
    assert Settings(_env_file=None).open_signup is False


def test_after_the_first_account_sign_up_needs_an_invitation_unless_open_signup(owner, monkeypatch):
    monkeypatch.delenv("OPEN_SIGNUP", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(PermissionDenied, match="Sign-up is by invitation"):
            auth.sign_up(email=f"{unique('v')}@example.test", password="correct horse battery")
        monkeypatch.setenv("OPEN_SIGNUP", "true")
        get_settings.cache_clear()
        assert auth.sign_up(email=f"{unique('v')}@example.test", password="correct horse battery") > 0
    finally:
        get_settings.cache_clear()
