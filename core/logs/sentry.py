"""Sentry error reporting, started by ``configure_logging`` when ``SENTRY_DSN`` is set.

Events are scrubbed before they leave: configured secrets and email addresses are redacted,
and request bodies, cookies, headers, query strings and user details are dropped.
"""

from __future__ import annotations

import re
from typing import Any

from core.config import Settings, get_settings
from core.logs.redaction import REDACTED, redact

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
SAFE_HEADERS = {"user-agent", "content-type", "content-length", "host"}

_started = False


def scrub(value: Any) -> Any:
    """``value`` with secrets and email addresses redacted from every string inside it."""
    if isinstance(value, str):
        return EMAIL.sub(REDACTED, redact(value))
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_send: drop personal data and request payloads, redact the rest."""
    event.pop("user", None)
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if k.lower() in SAFE_HEADERS}
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
    scrubbed: dict[str, Any] = scrub(event)
    return scrubbed


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_breadcrumb: the same redaction as events."""
    if isinstance(crumb.get("data"), dict) and isinstance(crumb["data"].get("url"), str):
        crumb["data"]["url"] = crumb["data"]["url"].split("?", 1)[0]
    scrubbed: dict[str, Any] = scrub(crumb)
    return scrubbed


def init_sentry(*, role: str, settings: Settings | None = None) -> bool:
    """Start the Sentry SDK for this process when a DSN is configured; True if started."""
    global _started
    settings = settings or get_settings()
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value() or _started:
        return _started
    # imported here: sentry_sdk takes about 0.16 s to load; only with SENTRY_DSN set
    import sentry_sdk

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.environment,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,  # type: ignore[arg-type]
        before_send_transaction=scrub_event,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,  # type: ignore[arg-type]
    )
    sentry_sdk.set_tag("role", role)
    _started = True
    return True
