"""SendGrid v3 mail send through the official SDK; our message id travels in custom_args, and our
Message-ID in the headers (as for SMTP and Mailgun: replies and follow-ups thread on it)."""

from __future__ import annotations

import json
import socket
import urllib.error
from collections.abc import Mapping
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from core.config import Settings
from core.errors import OutcomeUnknown, PermanentSendError, TransientSendError
from core.outreach.channels.base import status_is_retryable, thread_headers
from core.outreach.models import OutgoingMessage, SendResult
from core.outreach.templates import refuse_line_breaks
from core.outreach.unsubscribe import list_unsubscribe_headers
from core.retry import retry_after_seconds

MESSAGE_ID_ARG = "leadscout_message_id"


def _reason(body: Any) -> str:
    try:
        data = json.loads(body)
        return "; ".join(str(error.get("message", error)) for error in data.get("errors", [])) or str(data)[:300]
    except (ValueError, TypeError, AttributeError):
        return (body.decode(errors="replace") if isinstance(body, bytes) else str(body))[:300]


def mail_payload(message: OutgoingMessage) -> dict[str, Any]:
    """The v3 /mail/send JSON body for one message."""
    for label, value in (
        ("subject", message.subject),
        ("recipient name", message.to_name),
        ("sender name", message.from_name),
    ):
        refuse_line_breaks(label, value)
    to: dict[str, str] = {"email": message.to_address}
    if message.to_name:
        to["name"] = message.to_name
    sender: dict[str, str] = {"email": message.from_address}
    if message.from_name:
        sender["name"] = message.from_name
    headers = list_unsubscribe_headers(message.unsubscribe_url) if message.unsubscribe_url else {}
    if message.message_id_header:  # else SendGrid makes its own: replies and follow-ups could not thread on ours
        headers["Message-ID"] = refuse_line_breaks("Message-ID", message.message_id_header)
    headers.update(thread_headers(message))
    return {
        "personalizations": [{"to": [to], "custom_args": {MESSAGE_ID_ARG: str(message.message_id)}}],
        "from": sender,
        "subject": message.subject,
        "content": [{"type": "text/plain", "value": message.body}],
        "headers": headers,
    }


class SendGridChannel:
    """The official ``sendgrid`` SDK with its host taken from Settings."""

    name = "sendgrid"

    def __init__(self, *, api_key: str, base_url: str, timeout: float = 30.0) -> None:
        self._client = SendGridAPIClient(api_key=api_key, host=base_url.rstrip("/"))
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SendGridChannel:
        """The channel for the configured SendGrid account."""
        key = settings.sendgrid_api_key.get_secret_value() if settings.sendgrid_api_key else ""
        return cls(api_key=key, base_url=settings.sendgrid_base_url, timeout=settings.outreach_send_timeout_seconds)

    @property
    def api(self) -> Any:
        """The SDK's fluent client (used by the suppression sync)."""
        return self._client.client

    def send(self, message: OutgoingMessage) -> SendResult:
        """POST /v3/mail/send; the provider id is the X-Message-Id header."""
        try:
            response = self._client.client.mail.send.post(request_body=mail_payload(message), timeout=self._timeout)
        except HTTPError as exc:
            reason = f"SendGrid {exc.status_code}: {_reason(exc.body)}"
            if status_is_retryable(exc.status_code):
                headers = exc.headers if isinstance(exc.headers, Mapping) else None
                raise TransientSendError(reason, retry_after=retry_after_seconds(headers)) from exc
            raise PermanentSendError(reason, code=str(exc.status_code)) from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
                raise TransientSendError(f"SendGrid unreachable: {exc.reason}") from exc
            raise OutcomeUnknown(f"SendGrid did not answer: {exc.reason}") from exc
        except (TimeoutError, OSError) as exc:
            raise OutcomeUnknown(f"SendGrid did not answer: {exc}") from exc
        headers = response.headers
        provider_id = (headers.get("X-Message-Id") if hasattr(headers, "get") else None) or ""
        return SendResult(provider=self.name, provider_message_id=provider_id)

    def close(self) -> None:
        """Nothing held between sends."""
