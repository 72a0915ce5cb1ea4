"""Twilio SMS through the official SDK (Messages API, status callback); base URL from Settings."""

from __future__ import annotations

from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import MaxRetryError, NewConnectionError

from core.config import Settings
from core.errors import OutcomeUnknown, PermanentSendError, TransientSendError
from core.outreach.channels.base import status_is_retryable
from core.outreach.models import OutgoingMessage, SendResult

TWILIO_API = "https://api.twilio.com"


class BaseURLHttpClient(TwilioHttpClient):
    """The SDK's HTTP client with ``https://api.twilio.com`` replaced by our configured base URL."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Rewrite the host, then let the SDK's client send it."""
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def _never_connected(exc: requests.ConnectionError) -> bool:

    cause = exc.args[0] if exc.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)


class TwilioChannel:
    """Messages.create with a status callback that carries our message id."""

    name = "twilio"

    def __init__(
        self, *, account_sid: str, auth_token: str, from_number: str, base_url: str, timeout: float = 30.0
    ) -> None:
        self.from_number = from_number
        self._client = Client(account_sid, auth_token, http_client=BaseURLHttpClient(base_url, timeout), environment={})

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioChannel:
        """The channel for the configured Twilio account and number."""
        token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
        return cls(
            account_sid=settings.twilio_account_sid or "",
            auth_token=token,
            from_number=settings.twilio_from or "",
            base_url=settings.twilio_base_url,
            timeout=settings.outreach_send_timeout_seconds,
        )

    def send(self, message: OutgoingMessage) -> SendResult:
        """Create the message; the provider id is its SID."""
        options: dict[str, Any] = {"to": message.to_address, "from_": self.from_number, "body": message.body}
        if message.status_callback:
            options["status_callback"] = message.status_callback
        try:
            created = self._client.messages.create(**options)
        except TwilioRestException as exc:
            reason = f"Twilio {exc.status} (error {exc.code}): {exc.msg}"
            if status_is_retryable(exc.status):
                raise TransientSendError(reason) from exc
            raise PermanentSendError(reason, code=str(exc.code or exc.status)) from exc
        except requests.ConnectionError as exc:
            if isinstance(exc, requests.ConnectTimeout) or _never_connected(exc):
                raise TransientSendError(f"Twilio unreachable: {exc}") from exc
            raise OutcomeUnknown(f"Twilio connection dropped midway: {exc}") from exc
        except requests.Timeout as exc:
            raise OutcomeUnknown(f"Twilio did not answer: {exc}") from exc
        except requests.RequestException as exc:
            raise OutcomeUnknown(f"Twilio request failed midway: {exc}") from exc
        return SendResult(provider=self.name, provider_message_id=str(created.sid))

    def close(self) -> None:
        """Nothing held between sends."""
