"""Session tokens: random, signed with SECRET_KEY, stored only as a SHA-256 hash, revocable."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
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


def seal(secret: str) -> str:
    """Encrypt a provider token for storage (a database dump alone does not reveal it)."""
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str | None) -> str | None:
    """The provider token sealed by ``seal``, or None when missing or sealed with another key."""
    if not sealed:
        return None
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"leadscout.provider-tokens:{get_settings().signing_key()}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))
