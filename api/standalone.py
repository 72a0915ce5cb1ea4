"""The web service on its own: ``uvicorn api.standalone:app`` (``make api``) logs as the ``api`` process."""

from __future__ import annotations

from api.app import app
from core.logs import configure_logging

configure_logging("api")

__all__ = ["app"]
