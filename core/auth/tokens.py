"""Session tokens: random, signed with SECRET_KEY, stored only as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets

from itsdangerous import BadSignature, URLSafeSerializer

from core.config import get_settings

_SALT = "leadscout.session"


def new_token() -> tuple[str, str]:
    """A new (signed token for the browser, hash for the database) pair."""
    raw = secrets.token_urlsafe(32)
    return _serializer().dumps(raw), hash_raw(raw)


def token_hash(signed_token: str) -> str | None:
    """The database hash of a signed token, or None when the signature is wrong."""
    try:
        raw = _serializer().loads(signed_token)
    except BadSignature:
        return None
    if not isinstance(raw, str):
        return None
    return hash_raw(raw)


def hash_raw(raw: str) -> str:
    """SHA-256 of a raw token; random 256-bit tokens need no slow hash."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().signing_key(), salt=_SALT)
