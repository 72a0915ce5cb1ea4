"""Structured logging: one JSON object per line on stderr, level from Settings."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from core.config import get_settings

_configured = False


class JSONFormatter(logging.Formatter):
    """Formats a record as one line of JSON with time, level, process role and message."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "role": self.role,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("job_id", "session_id", "workspace_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(role: str) -> None:
    """Send LeadScout's logs to stderr as JSON lines (once per process)."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter(role))
    root = logging.getLogger("core")
    root.addHandler(handler)
    root.setLevel(get_settings().log_level.upper())
    root.propagate = False
    _configured = True
