"""Names and flags of the session cookie (set by server.py, read by app.py)."""

from __future__ import annotations

SESSION_COOKIE = "leadscout_session"


def cookie_is_secure(public_base_url: str) -> bool:
    """Mark the cookie Secure whenever the app is served over HTTPS."""
    return public_base_url.lower().startswith("https://")
