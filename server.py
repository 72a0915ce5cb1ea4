"""The UI process: Streamlit (app.py), the web service (api/: REST API, unsubscribe, webhooks, /healthz),
and the tiny routes that keep sign-in in an HttpOnly cookie — all on one port.

Run with `streamlit run server.py` (what `make run` does) or `uvicorn server:app`.
The browser trades a one-time code for the session cookie at /session/start, so the session
token never sits anywhere a script on the page can read it. The code is bound to the browser
that signed in (its ``leadscout_browser`` cookie, given on its first request), so a code that leaks
is useless to any other client. Signing out is a same-origin POST to /session/end: a link or an
image elsewhere cannot sign anyone out.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from streamlit.runtime.pages_manager import PagesManager

from api.app import app as web_service
from core.auth import service as auth
from core.auth.cookies import (
    BROWSER_COOKIE,
    OAUTH_COOKIE,
    OAUTH_COOKIE_SECONDS,
    SESSION_COOKIE,
    cookie_is_secure,
    safe_next,
)
from core.background.schedule import start_in_ui_process
from core.body_limit import BodySizeLimit
from core.config import get_settings
from core.logs import configure_logging

configure_logging("ui")
start_in_ui_process()  # periodic housekeeping jobs, when this process also runs the jobs

log = logging.getLogger("core.server")


async def start_session(request: Request) -> RedirectResponse:
    """Trade a one-time handoff code for the HttpOnly session cookie, then go to the page asked for (or home)."""
    response = RedirectResponse(safe_next(request.query_params.get("next", "/")), status_code=303)
    redeemed = auth.redeem_handoff(
        code=request.query_params.get("code", ""), browser=request.cookies.get(BROWSER_COOKIE, "")
    )
    if redeemed is not None:
        _set_session_cookie(response, *redeemed)
    return response


def _set_session_cookie(response: RedirectResponse, token: str, max_age: int) -> None:
    _set_cookie(response, SESSION_COOKIE, token, max_age=max_age, path="/")


def _set_cookie(response: Response, name: str, value: str, *, max_age: int | None, path: str) -> None:
    """An HttpOnly, SameSite=Lax cookie, Secure when the public address is https (no max_age: until the browser closes)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=cookie_is_secure(get_settings().public_base_url),
        samesite="lax",
        path=path,
    )


class BrowserCookie:
    """ASGI middleware: a browser without a ``leadscout_browser`` cookie gets a random one with the response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):  # noqa: ANN001 - the ASGI signature
        if scope["type"] != "http" or BROWSER_COOKIE in Request(scope).cookies:
            return await self.app(scope, receive, send)
        carrier = Response()
        _set_cookie(carrier, BROWSER_COOKIE, secrets.token_urlsafe(32), max_age=None, path="/")
        cookie = carrier.headers["set-cookie"].encode("latin-1")

        async def send_with_cookie(message):  # noqa: ANN001, ANN202 - an ASGI message
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        return await self.app(scope, receive, send_with_cookie)


async def start_oauth(request: Request) -> Response:
    """Remember in an HttpOnly cookie which sign-in this browser started, then go to Supabase."""
    from core.auth import supabase_service

    target = request.query_params.get("to", "")
    state = supabase_service.oauth_state_of(target)
    if state is None:  # only our own, unused authorize URLs: never an open redirect
        return PlainTextResponse("This sign-in link is not valid. Start again from the sign-in page.", status_code=400)
    response = RedirectResponse(target, status_code=303)
    _set_cookie(response, OAUTH_COOKIE, state, max_age=OAUTH_COOKIE_SECONDS, path="/session")
    return response


async def finish_oauth(request: Request) -> RedirectResponse:
    """Google/Facebook come back here: check the browser's state cookie, exchange the code, sign in."""
    from core.auth import supabase_service
    from core.errors import LeadScoutError

    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(OAUTH_COOKIE, path="/session")
    try:
        result = supabase_service.finish_redirect(
            state=request.query_params.get("state", ""),
            code=request.query_params.get("code", ""),
            browser_state=request.cookies.get(OAUTH_COOKIE),
        )
    except LeadScoutError as error:
        log.info("OAuth sign-in refused: %s", error)
        response.headers["location"] = "/?signin_error=oauth"
        return response
    # This token was never shown to a page, so it goes straight into the HttpOnly cookie.
    _set_session_cookie(response, result.signed.token, get_settings().session_ttl_hours * 3600)
    return response


def _from_our_own_page(request: Request) -> bool:
    """True for a request a page of ours sent: the browser says same-origin, or the Origin is ours."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True  # an old browser: the SameSite cookie still stays home on cross-site POSTs
    ours = {request.headers.get("host", ""), urlsplit(get_settings().public_base_url).netloc}
    return urlsplit(origin).netloc in ours


async def end_session(request: Request) -> Response:
    """POST from our own page: revoke the cookie's session and clear the cookie."""
    if not _from_our_own_page(request):
        log.info("sign-out refused: not sent from our own page")
        return PlainTextResponse("Sign out from LeadScout's own page.", status_code=403)
    response = RedirectResponse("/", status_code=303)
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:  # a request without the cookie changes nothing, not even the browser's cookies
        auth.sign_out(token=token)
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def end_session_needs_post(request: Request) -> Response:
    """A GET (a link, an image) never signs out; said explicitly, or Streamlit would serve the app page here."""
    return PlainTextResponse("Sign out with the button in LeadScout.", status_code=405, headers={"Allow": "POST"})


# The web service answers its own paths on this port (an ASGI app as a Route endpoint gets the request
# untouched, path and all), so `make run` serves UI, API, unsubscribe and webhooks on one port.
WEB_SERVICE_ROUTES = [
    Route("/api/{rest:path}", web_service),
    Route("/unsubscribe", web_service),
    Route("/hooks/{rest:path}", web_service),
    Route("/healthz", web_service),
]

ROUTES = [
    *WEB_SERVICE_ROUTES,
    Route("/session/start", start_session),
    Route("/session/end", end_session, methods=["POST"]),
    Route("/session/end", end_session_needs_post, methods=["GET"]),
    Route("/session/oauth", start_oauth),
    Route("/session/oauth-callback", finish_oauth),
]
# Every browser gets its hand-off cookie; our own routes refuse oversized bodies (MAX_REQUEST_BODY_BYTES),
# Streamlit's uploads keep their own limit.
MIDDLEWARE = [Middleware(BrowserCookie), Middleware(BodySizeLimit, prefixes=("/session/",))]

# app.py routes every page with st.navigation. Streamlit would otherwise treat the pages/ folder beside it as
# an old-style multipage app until the first run of app.py: a first visit to /leads after a restart ran
# pages/leads.py on its own, without the sign-in gate, under a sidebar listing every module (issue 18 item 7).
PagesManager.uses_pages_directory = False

app = st.App(str(Path(__file__).with_name("app.py")), routes=ROUTES, middleware=MIDDLEWARE)
