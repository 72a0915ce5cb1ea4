"""Supabase sign-in in the real app (AppTest): Google via PKCE end to end, replay refused, sign-up."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

import server
from core.auth import service as auth
from core.auth.cookies import SESSION_COOKIE
from core.config import PROJECT_ROOT, get_settings
from tests.conftest import unique
from tests.fixtures.gotrue_server import FakeGoTrue
from tests.ui.test_signin import follow_handoff

pytestmark = pytest.mark.usefixtures("run_app_py_on_every_rerun")  # these tests open app.py


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
    """Click "Continue with Google" in the app; return where the browser is sent (our /session/oauth)."""
    at = fresh_app()
    at.button(key="signin_oauth_google").click()
    at.run()
    assert not at.exception
    return at.link_button[0].proto.url


def browser() -> TestClient:
    """A browser for server.py's routes: it keeps its own cookies, follows nothing by itself."""
    routes = [Route("/session/oauth", server.start_oauth), Route("/session/oauth-callback", server.finish_oauth)]
    return TestClient(Starlette(routes=routes), base_url=get_settings().public_base_url, follow_redirects=False)


def round_trip(client: TestClient, start: str) -> str:
    """Start at our route, go through Supabase (and Google), and return the callback path + query."""
    to_supabase = client.get(start)
    assert to_supabase.status_code == 303
    back = httpx.get(to_supabase.headers["location"], follow_redirects=False).headers["location"]
    parts = urlsplit(back)
    return f"{parts.path}?{parts.query}"


def test_google_sign_in_with_pkce_end_to_end(gotrue):
    start = start_google_sign_in()
    assert start.startswith("/session/oauth?to=")
    authorize = urlsplit(parse_qs(urlsplit(start).query)["to"][0])
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert authorize.path == "/auth/v1/authorize" and query["provider"] == "google"
    assert query["code_challenge_method"] == "s256" and len(query["code_challenge"]) == 43
    assert "/session/oauth-callback?state=" in query["redirect_to"]

    client = browser()
    callback = round_trip(client, start)
    assert set(parse_qs(urlsplit(callback).query)) == {"state", "code"}
    signed_in = client.get(callback)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/")
    token = signed_in.cookies[SESSION_COOKIE]
    assert "HttpOnly" in signed_in.headers.get_list("set-cookie")[-1]
    assert auth.restore_session(token=token).email == "google-user@example.test"

    replayed = client.get(callback)
    assert replayed.headers["location"] == "/?signin_error=oauth" and SESSION_COOKIE not in replayed.cookies
    at = fresh_app({"signin_error": "oauth"})
    assert "started in another browser" in at.error[0].value


def test_a_callback_in_another_browser_is_refused(gotrue):
    start = start_google_sign_in()
    callback = round_trip(browser(), start)  # the attacker's own browser went through Google...
    victim = browser()  # ...and sends the callback link to someone else
    response = victim.get(callback)
    assert response.headers["location"] == "/?signin_error=oauth"
    assert SESSION_COOKIE not in response.cookies
    at = fresh_app({k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()})
    assert "another browser" in at.error[0].value  # and the same link opened on the app itself
    assert "auth_token" not in at.session_state


def test_a_callback_with_a_wrong_state_is_refused(gotrue):
    start = start_google_sign_in()
    client = browser()
    callback = round_trip(client, start)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    response = client.get(f"/session/oauth-callback?state=made-up-state&code={code}")
    assert response.headers["location"] == "/?signin_error=oauth"
    assert SESSION_COOKIE not in response.cookies


def test_only_our_own_authorize_urls_are_followed(gotrue):
    client = browser()
    for target in ("https://evil.example/auth/v1/authorize?x=1", f"{gotrue.base_url}/auth/v1/authorize?redirect_to=x", ""):
        assert client.get("/session/oauth", params={"to": target}).status_code == 400


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
    follow_handoff(at)
    assert not at.exception
    assert any(f"Signed in as {address}" in c.value for c in at.caption)
