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

from core.config import get_settings
from core.logs.redaction import redact
from core.logs.sentry import init_sentry

CONTEXT_FIELDS = ("job_id", "session_id", "workspace_id", "request_id")
# Libraries whose own handlers we replace, so their lines come out as JSON too.
ADOPTED_LOGGERS = ("rq.worker", "rq.job", "rq.scheduler", "uvicorn", "uvicorn.error", "uvicorn.access")
# Loggers whose INFO request lines AccessAtDebug turns into DEBUG.
ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error", "api.requests")

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


class AccessAtDebug(logging.Filter):
    """Request lines (static files, websockets, API calls) are DEBUG; errors and actions stay INFO and above."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not _is_access_line(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def _is_access_line(record: logging.LogRecord) -> bool:
    if record.name == "uvicorn.access":
        return True
    if record.name == "uvicorn.error":  # uvicorn logs each websocket's handshake and open/close here
        message = str(record.msg)
        return message in ("connection open", "connection closed") or '"WebSocket ' in message
    return record.name == "api.requests"


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
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, AccessAtDebug) for f in logger.filters):
            logger.addFilter(AccessAtDebug())
    _handler = handler
    init_sentry(role=role)
