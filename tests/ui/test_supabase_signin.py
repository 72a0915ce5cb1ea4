"""Supabase sign-in in the real app (AppTest): Google via PKCE end to end, replay refused, sign-up."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT, get_settings
from tests.conftest import unique
from tests.fixtures.gotrue_server import FakeGoTrue


@pytest.fixture
def gotrue(monkeypatch):
    """A running fake Supabase project, configured as this process's Supabase."""
    with FakeGoTrue() as server:
        monkeypatch.setenv("SUPABASE_URL", server.base_url)
        monkeypatch.setenv("SUPABASE_ANON_KEY", server.anon_key)
        get_settings.cache_clear()
        yield server
        monkeypatch.undo()
        get_settings.cache_clear()


def fresh_app(query_params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=30)
    at.query_params.update(query_params or {})
    at.run()
    return at


def start_google_sign_in() -> str:
    at = fresh_app()
    at.button(key="signin_oauth_google").click()
    at.run()
    assert not at.exception
    return at.link_button[0].proto.url


def test_google_sign_in_with_pkce_end_to_end(gotrue):
    authorize = urlsplit(start_google_sign_in())
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert authorize.path == "/auth/v1/authorize" and query["provider"] == "google"
    assert query["code_challenge_method"] == "s256" and len(query["code_challenge"]) == 43
    assert "state=" in query["redirect_to"]

    # The browser goes to Supabase (and Google) and comes back to the app in a new session.
    back = httpx.get(authorize.geturl(), follow_redirects=False).headers["location"]
    callback = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    assert set(callback) == {"state", "code"}
    at = fresh_app(callback)
    assert not at.exception
    assert any("Signed in as google-user@example.test" in c.value for c in at.caption)
    assert dict(at.query_params) == {}

    replayed = fresh_app(callback)
    assert "expired or was used" in replayed.error[0].value
    assert "auth_token" not in replayed.session_state


def test_a_callback_with_a_wrong_state_is_refused(gotrue):
    authorize = start_google_sign_in()
    back = httpx.get(authorize, follow_redirects=False).headers["location"]
    code = parse_qs(urlsplit(back).query)["code"][0]
    at = fresh_app({"state": "made-up-state", "code": code})
    assert "expired or was used" in at.error[0].value
    assert "auth_token" not in at.session_state


def test_sign_up_that_needs_confirmation_says_to_check_email(gotrue):
    gotrue.confirm_email = True
    address = f"{unique('conf')}@example.test"
    at = fresh_app()
    at.text_input(key="signup_email").set_value(address)
    at.text_input(key="signup_password").set_value("a long enough password")
    [b for b in at.button if b.label == "Create account"][0].click()
    at.run()
    assert not at.exception
    assert f"Check your email: we sent a confirmation link to {address}." in [i.value for i in at.info]
    assert "auth_token" not in at.session_state


def test_email_sign_in_through_supabase(gotrue):
    address = f"{unique('pw')}@example.test"
    gotrue.add_user(address, "a long enough password")
    at = fresh_app()
    at.text_input(key="signin_email").set_value(address)
    at.text_input(key="signin_password").set_value("a long enough password")
    [b for b in at.button if b.label == "Sign in"][0].click()
    at.run()
    assert not at.exception
    assert any(f"Signed in as {address}" in c.value for c in at.caption)
