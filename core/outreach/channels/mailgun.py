"""Mailgun's messages API over httpx; our message id travels as the variable ``v:leadscout_message_id``."""

from __future__ import annotations

import httpx

from core.config import Settings
from core.errors import OutcomeUnknown, PermanentSendError, TransientSendError
from core.outreach.channels.base import build_email, status_is_retryable, thread_headers
from core.outreach.models import OutgoingMessage, SendResult
from core.outreach.unsubscribe import list_unsubscribe_headers
from core.retry import retry_after_seconds

MESSAGE_ID_VARIABLE = "leadscout_message_id"


class MailgunChannel:
    """POST /v3/{domain}/messages with basic auth ``api:<key>``; base URL from Settings."""

    name = "mailgun"

    def __init__(self, *, api_key: str, domain: str, base_url: str, timeout: float = 30.0) -> None:
        self.domain = domain
        self._client = httpx.Client(base_url=base_url.rstrip("/"), auth=("api", api_key), timeout=timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> MailgunChannel:
        """The channel for the configured Mailgun domain."""
        key = settings.mailgun_api_key.get_secret_value() if settings.mailgun_api_key else ""
        return cls(
            api_key=key,
            domain=settings.mailgun_domain or "",
            base_url=settings.mailgun_base_url,
            timeout=settings.outreach_send_timeout_seconds,
        )

    def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        """A GET on the Mailgun API (used by the suppression sync)."""
        return self._client.get(path, params=params)

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send one email; the provider id is the id Mailgun returns."""
        email = build_email(message)  # validates names and subject the same way SMTP does
        data = {
            "from": str(email["From"]),
            "to": str(email["To"]),
            "subject": message.subject,
            "text": message.body,
            f"v:{MESSAGE_ID_VARIABLE}": str(message.message_id),
        }
        if message.message_id_header:
            data["h:Message-Id"] = message.message_id_header
        if message.unsubscribe_url:
            for name, value in list_unsubscribe_headers(message.unsubscribe_url).items():
                data[f"h:{name}"] = value
        for name, value in thread_headers(message).items():
            data[f"h:{name}"] = value
        try:
            response = self._client.post(f"/v3/{self.domain}/messages", data=data)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TransientSendError(f"Mailgun unreachable: {exc}") from exc
        except httpx.HTTPError as exc:
            raise OutcomeUnknown(f"Mailgun did not answer: {exc}") from exc
        if response.status_code >= 300:
            try:
                reason = str(response.json().get("message", response.text))
            except ValueError:
                reason = response.text
            reason = f"Mailgun {response.status_code}: {reason[:300]}"
            if status_is_retryable(response.status_code):
                raise TransientSendError(reason, retry_after=retry_after_seconds(response.headers))
            raise PermanentSendError(reason, code=str(response.status_code))
        try:
            provider_id = str(response.json().get("id", ""))
        except ValueError as exc:
            raise OutcomeUnknown("Mailgun accepted the request but its answer was unreadable.") from exc
        return SendResult(provider=self.name, provider_message_id=provider_id.strip("<>"))

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
