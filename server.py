"""The UI process: Streamlit (app.py) plus two tiny routes that keep sign-in in an HttpOnly cookie.

Run with `streamlit run server.py` (what `make run` does) or `uvicorn server:app`.
The browser trades a one-time code for the session cookie at /session/start, so the session
token never sits anywhere a script on the page can read it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from core.auth import service as auth
from core.auth.cookies import OAUTH_COOKIE, OAUTH_COOKIE_SECONDS, SESSION_COOKIE, cookie_is_secure
from core.background.schedule import start_in_ui_process
from core.body_limit import BodySizeLimit
from core.config import get_settings
from core.logs import configure_logging

configure_logging("ui")
start_in_ui_process()  # periodic housekeeping jobs, when this process also runs the jobs

log = logging.getLogger("core.server")


async def start_session(request: Request) -> RedirectResponse:
    """Trade a one-time handoff code for the HttpOnly session cookie, then go home."""
    response = RedirectResponse("/", status_code=303)
    redeemed = auth.redeem_handoff(code=request.query_params.get("code", ""))
    if redeemed is not None:
        _set_session_cookie(response, *redeemed)
    return response


def _set_session_cookie(response: RedirectResponse, token: str, max_age: int) -> None:
    _set_cookie(response, SESSION_COOKIE, token, max_age=max_age, path="/")


def _set_cookie(response: Response, name: str, value: str, *, max_age: int, path: str) -> None:
    """An HttpOnly, SameSite=Lax cookie, Secure when the public address is https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=cookie_is_secure(get_settings().public_base_url),
        samesite="lax",
        path=path,
    )


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


async def end_session(request: Request) -> RedirectResponse:
    """Revoke the cookie's session (if any) and clear the cookie."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        auth.sign_out(token=token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


ROUTES = [
    Route("/session/start", start_session),
    Route("/session/end", end_session),
    Route("/session/oauth", start_oauth),
    Route("/session/oauth-callback", finish_oauth),
]
# Our own routes refuse oversized bodies (MAX_REQUEST_BODY_BYTES); Streamlit's uploads keep their own limit.
MIDDLEWARE = [Middleware(BodySizeLimit, prefixes=("/session/",))]

app = st.App(str(Path(__file__).with_name("app.py")), routes=ROUTES, middleware=MIDDLEWARE)
