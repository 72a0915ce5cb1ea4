"""The receiver as its own process (``make receiver``): the same application as ``make api``.

Kept so existing deployments (``uvicorn workers.receiver:app``) keep working; the application itself
(unsubscribe, webhooks, /healthz and the REST API) lives in ``api/``.
"""

from __future__ import annotations

from api.app import app
from core.logs import configure_logging

configure_logging("receiver")

__all__ = ["app"]
