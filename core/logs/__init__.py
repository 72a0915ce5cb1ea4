"""Structured logging: one JSON object per line on stderr, with context ids and secrets redacted.

``configure_logging(role)`` is called once by each process (ui, worker, receiver, cli). Fields
bound with ``log_context(job_id=...)`` ride on every record logged inside the block, and every
line passes through ``redact`` so no configured secret reaches the logs (or Sentry).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from core.config import Settings, get_settings

CONTEXT_FIELDS = ("job_id", "session_id", "workspace_id", "request_id")
REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words
# Libraries whose own handlers we replace, so their lines come out as JSON too.
ADOPTED_LOGGERS = ("rq.worker", "rq.job", "rq.scheduler", "uvicorn", "uvicorn.error", "uvicorn.access")

# Libraries that log SQL parameters, request payloads (SMS bodies, prompts) or wire traffic.
QUIET_LOGGERS = (
    "sqlalchemy",
    "twilio",
    "openai",
    "httpx",
    "httpcore",
    "hpack",
    "urllib3",
    "watchdog",
    "python_http_client",
)

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("leadscout_log_context", default=None)
_extra_secrets: set[str] = set()
_secrets_cache: tuple[object, int, tuple[str, ...]] = (None, 0, ())
_handler: logging.Handler | None = None


def bind_log_context(**fields: Any) -> None:
    """Attach ``fields`` (job_id, session_id, ...) to every later record in this context."""
    _context.set({**(_context.get() or {}), **fields})


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Attach ``fields`` to every record logged inside the block."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def add_secret(value: str) -> None:
    """Treat ``value`` as a secret from now on (redacted from every log line)."""
    if len(value) >= MIN_SECRET_LENGTH:
        _extra_secrets.add(value)


def configured_secrets(settings: Settings) -> tuple[str, ...]:
    """Every secret in Settings: SecretStr values and passwords inside connection URLs."""
    found: set[str] = set(_extra_secrets)
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
    if _secrets_cache[0] is not settings or _secrets_cache[1] != len(_extra_secrets):
        _secrets_cache = (settings, len(_extra_secrets), configured_secrets(settings))
    return _secrets_cache[2]


def redact(text: str, secrets: tuple[str, ...] | None = None) -> str:
    """``text`` with every configured secret (raw or JSON-escaped) replaced by [redacted]."""
    for secret in _current_secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret and escaped in text:
            text = text.replace(escaped, REDACTED)
    return text


class ContextFilter(logging.Filter):
    """Copies the bound context (job id, session id, ...) onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class AccessLogFilter(logging.Filter):
    """Drops query strings from uvicorn's access lines (they carry unsubscribe tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            path = record.args[2]
            if isinstance(path, str):
                record.args = (*record.args[:2], path.split("?", 1)[0], *record.args[3:])
        return True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


class JSONFormatter(logging.Formatter):
    """Formats a record as one redacted line of JSON with time, level, role, logger and message."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "role": self.role,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


def configure_logging(role: str, *, stream: IO[str] | None = None, force: bool = False) -> None:
    """Send this process's logs to stderr as JSON lines and start Sentry if configured (once)."""
    global _handler
    if _handler is not None and not force:
        return
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    handler.setFormatter(JSONFormatter(role))
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(get_settings().log_level.upper())
    logging.getLogger("core").propagate = True
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in ADOPTED_LOGGERS:
        adopted = logging.getLogger(name)
        adopted.handlers.clear()
        adopted.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogFilter) for f in access.filters):
        access.addFilter(AccessLogFilter())
    _handler = handler
    from core.logs.sentry import init_sentry

    init_sentry(role=role)
