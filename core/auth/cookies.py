"""Names and flags of the session cookie (set by server.py, read by app.py)."""

from __future__ import annotations

SESSION_COOKIE = "leadscout_session"
OAUTH_COOKIE = "leadscout_oauth_state"  # ties a Google/Facebook sign-in to the browser that started it
OAUTH_COOKIE_SECONDS = 30 * 60


def cookie_is_secure(public_base_url: str) -> bool:
    """Mark the cookie Secure whenever the app is served over HTTPS."""
    return public_base_url.lower().startswith("https://")
