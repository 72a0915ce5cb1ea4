"""Names and flags of the session cookie (set by server.py, read by app.py)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SESSION_COOKIE = "leadscout_session"
OAUTH_COOKIE = "leadscout_oauth_state"  # ties a Google/Facebook sign-in to the browser that started it
OAUTH_COOKIE_SECONDS = 30 * 60
# A random value server.py gives every browser on its first request; a sign-in hand-off code is bound
# to it, so only the browser that signed in can trade the code for the session cookie.
BROWSER_COOKIE = "leadscout_browser"


def cookie_is_secure(public_base_url: str) -> bool:
    """Mark the cookie Secure whenever the app is served over HTTPS."""
    return public_base_url.lower().startswith("https://")


_LOCAL_PATH = re.compile(r"/[A-Za-z0-9_-]*")


def safe_next(value: str) -> str:
    """Where to go after signing in: a path of this app (``/leads?...``) and nothing else, never another host."""
    parts = urlsplit(value or "/")
    if parts.scheme or parts.netloc or not _LOCAL_PATH.fullmatch(parts.path or ""):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def next_path(url: str, query: str = "") -> str:
    """The page path of the browser's ``url`` with ``query``, checked by ``safe_next``."""
    path = urlsplit(url).path or "/"
    return safe_next(f"{path}?{query}" if query else path)
