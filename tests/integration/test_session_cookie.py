"""server.py's session routes: a one-time code becomes an HttpOnly cookie; sign-out clears it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

import server
from core.auth import service as auth
from core.auth.cookies import SESSION_COOKIE
from tests.conftest import unique

PASSWORD = "correct horse battery"


def client() -> TestClient:
    routes = [Route("/session/start", server.start_session), Route("/session/end", server.end_session)]
    return TestClient(Starlette(routes=routes), base_url="http://testserver", follow_redirects=False)


def signed_in():
    email = f"{unique('c')}@example.test"
    auth.sign_up(email=email, password=PASSWORD)
    return auth.sign_in(email=email, password=PASSWORD)


def test_handoff_sets_an_httponly_cookie_that_restores_the_session():
    signed = signed_in()
    code = auth.create_handoff(token=signed.token)
    response = client().get(f"/session/start?code={code}")
    assert response.status_code == 303
    header = response.headers["set-cookie"]
    assert header.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    token = response.cookies[SESSION_COOKIE]
    assert auth.restore_session(token=token).user_id == signed.user_id


def test_a_used_or_unknown_code_sets_no_cookie():
    signed = signed_in()
    code = auth.create_handoff(token=signed.token)
    http = client()
    assert SESSION_COOKIE in http.get(f"/session/start?code={code}").headers.get("set-cookie", "")
    for bad in (code, "made-up", ""):
        assert "set-cookie" not in client().get(f"/session/start?code={bad}").headers


def test_session_end_revokes_and_clears_the_cookie():
    signed = signed_in()
    code = auth.create_handoff(token=signed.token)
    http = client()
    token = http.get(f"/session/start?code={code}").cookies[SESSION_COOKIE]
    http.cookies.set(SESSION_COOKIE, token)
    response = http.get("/session/end")
    assert response.status_code == 303
    assert 'leadscout_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert auth.restore_session(token=token) is None
