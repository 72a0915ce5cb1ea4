"""server.py's session routes: a one-time code becomes an HttpOnly cookie in the browser that signed in
(and no other client); sign-out is a same-origin POST that clears it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.testclient import TestClient

import server
from core.auth import service as auth
from core.auth.cookies import BROWSER_COOKIE, SESSION_COOKIE
from tests.conftest import unique

PASSWORD = "correct horse battery"


def client() -> TestClient:
    """A client of server.py's own routes and middleware (no cookies yet)."""
    app = Starlette(routes=server.ROUTES, middleware=server.MIDDLEWARE)
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def browser() -> tuple[TestClient, str]:
    """A client that has been to the app once, so it holds its browser cookie; (client, cookie value)."""
    http = client()
    http.get("/session/start")
    return http, http.cookies[BROWSER_COOKIE]


def signed_in():
    email = f"{unique('c')}@example.test"
    auth.sign_up(email=email, password=PASSWORD)
    return auth.sign_in(email=email, password=PASSWORD)


def signed_in_browser() -> tuple[TestClient, str]:
    """A browser that signed in and traded its code: (client, session cookie token)."""
    http, nonce = browser()
    code = auth.create_handoff(token=signed_in().token, browser=nonce)
    token = http.get(f"/session/start?code={code}").cookies[SESSION_COOKIE]
    http.cookies.set(SESSION_COOKIE, token)
    return http, token


def test_every_browser_gets_an_httponly_browser_cookie_once():
    http = client()
    header = http.get("/session/start").headers["set-cookie"]
    assert header.startswith(f"{BROWSER_COOKIE}=")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    assert BROWSER_COOKIE not in http.get("/session/start").headers.get("set-cookie", "")  # kept, not renewed


def test_handoff_sets_an_httponly_cookie_that_restores_the_session():
    signed = signed_in()
    http, nonce = browser()
    code = auth.create_handoff(token=signed.token, browser=nonce)
    response = http.get(f"/session/start?code={code}")
    assert response.status_code == 303
    header = response.headers["set-cookie"]
    assert header.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    token = response.cookies[SESSION_COOKIE]
    assert auth.restore_session(token=token).user_id == signed.user_id


def test_a_used_or_unknown_code_sets_no_cookie():
    signed = signed_in()
    http, nonce = browser()
    code = auth.create_handoff(token=signed.token, browser=nonce)
    assert SESSION_COOKIE in http.get(f"/session/start?code={code}").headers.get("set-cookie", "")
    for bad in (code, "made-up", ""):
        assert SESSION_COOKIE not in http.get(f"/session/start?code={bad}").headers.get("set-cookie", "")


def test_a_handoff_code_works_only_in_the_browser_that_signed_in():
    signed = signed_in()
    mine, nonce = browser()
    code = auth.create_handoff(token=signed.token, browser=nonce)
    stranger, _ = browser()  # another client that got hold of the code (a log, a shared link, a proxy)
    bare = client()  # and one that never had a browser cookie
    for other in (stranger, bare):
        assert SESSION_COOKIE not in other.get(f"/session/start?code={code}").headers.get("set-cookie", "")
    response = mine.get(f"/session/start?code={code}")  # the stranger's tries did not burn it
    assert auth.restore_session(token=response.cookies[SESSION_COOKIE]).user_id == signed.user_id


def test_session_end_revokes_and_clears_the_cookie_on_a_same_origin_post():
    http, token = signed_in_browser()
    response = http.post("/session/end", headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 303
    assert 'leadscout_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert auth.restore_session(token=token) is None


def test_a_link_or_an_image_cannot_sign_out():
    http, token = signed_in_browser()
    assert http.get("/session/end").status_code == 405  # <img src> or <a href> is a GET
    assert auth.restore_session(token=token) is not None


def test_a_cross_site_post_cannot_sign_out():
    http, token = signed_in_browser()
    for headers in (
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://sub.testserver"},
        {"Origin": "https://evil.example"},  # a browser without Sec-Fetch-* headers
    ):
        response = http.post("/session/end", headers=headers)
        assert response.status_code == 403
        assert "set-cookie" not in response.headers
    assert auth.restore_session(token=token) is not None


def test_a_post_without_the_session_cookie_leaves_the_browser_alone():
    http, _ = browser()
    response = http.post("/session/end", headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 303 and "set-cookie" not in response.headers
