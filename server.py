"""The UI process: Streamlit (app.py) plus two tiny routes that keep sign-in in an HttpOnly cookie.

Run with `streamlit run server.py` (what `make run` does) or `uvicorn server:app`.
The browser trades a one-time code for the session cookie at /session/start, so the session
token never sits anywhere a script on the page can read it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from core.auth import service as auth
from core.auth.cookies import SESSION_COOKIE, cookie_is_secure
from core.config import get_settings
from core.logs import configure_logging

configure_logging("ui")


async def start_session(request: Request) -> RedirectResponse:
    """Trade a one-time handoff code for the HttpOnly session cookie, then go home."""
    response = RedirectResponse("/", status_code=303)
    redeemed = auth.redeem_handoff(code=request.query_params.get("code", ""))
    if redeemed is not None:
        token, max_age = redeemed
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=max_age,
            httponly=True,
            secure=cookie_is_secure(get_settings().public_base_url),
            samesite="lax",
            path="/",
        )
    return response


async def end_session(request: Request) -> RedirectResponse:
    """Revoke the cookie's session (if any) and clear the cookie."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        auth.sign_out(token=token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


app = st.App(
    str(Path(__file__).with_name("app.py")),
    routes=[Route("/session/start", start_session), Route("/session/end", end_session)],
)
