"""Secrets out of every log line and error report: configured secrets, raw or JSON-escaped, become [redacted]."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import urlsplit

from pydantic import SecretStr

from core.config import Settings, get_settings

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words

_secrets_cache: tuple[object, tuple[str, ...]] = (None, ())


def configured_secrets(settings: Settings) -> tuple[str, ...]:
    """Every secret in Settings: SecretStr values and passwords inside connection URLs."""
    found: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
    for url in (settings.database_url, settings.redis_url or ""):
        with contextlib.suppress(ValueError):
            if password := urlsplit(url).password:
                found.add(password)
    return tuple(sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True))


def _current_secrets() -> tuple[str, ...]:
    global _secrets_cache
    settings = get_settings()
    if _secrets_cache[0] is not settings:
        _secrets_cache = (settings, configured_secrets(settings))
    return _secrets_cache[1]


def redact(text: str, secrets: tuple[str, ...] | None = None) -> str:
    """``text`` with every configured secret (raw or JSON-escaped) replaced by [redacted]."""
    for secret in _current_secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret and escaped in text:
            text = text.replace(escaped, REDACTED)
    return text
