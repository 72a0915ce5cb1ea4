"""Names and flags of the session cookie (set by server.py, read by app.py)."""

from __future__ import annotations

SESSION_COOKIE = "leadscout_session"
OAUTH_COOKIE = "leadscout_oauth_state"  # ties a Google/Facebook sign-in to the browser that started it
OAUTH_COOKIE_SECONDS = 30 * 60
# A random value server.py gives every browser on its first request; a sign-in hand-off code is bound
# to it, so only the browser that signed in can trade the code for the session cookie.
BROWSER_COOKIE = "leadscout_browser"


def cookie_is_secure(public_base_url: str) -> bool:
    """Mark the cookie Secure whenever the app is served over HTTPS."""
    return public_base_url.lower().startswith("https://")
