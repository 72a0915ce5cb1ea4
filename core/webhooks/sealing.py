"""Endpoint secrets at rest: sealed with a key derived from SECRET_KEY (a database dump alone reveals none).

The secret must be readable to sign each delivery, so it is encrypted rather than hashed.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from core.config import get_settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"leadscout.webhook-secrets:{get_settings().signing_key()}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str) -> str:
    """Encrypt an endpoint secret for storage."""
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str | None:
    """The secret ``seal`` stored, or None when it was sealed under another SECRET_KEY."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
