"""HMAC-signed unsubscribe tokens and the links and headers built from them (RFC 8058)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlencode

from core.config import get_settings
from core.errors import InvalidInput


@dataclass(frozen=True)
class UnsubscribeTarget:
    """Who a valid token unsubscribes: an address on a channel in one workspace."""

    workspace_id: int
    channel: str
    address: str


def _key(secret: str | None = None) -> bytes:
    root = (secret or get_settings().signing_key()).encode()
    return hmac.new(root, b"leadscout-unsubscribe-v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(*, workspace_id: int, channel: str, address: str, secret: str | None = None) -> str:
    """A token that unsubscribes ``address`` on ``channel`` in the workspace; it never expires."""
    payload = f"{workspace_id}:{channel}:{address}".encode()
    signature = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:20]
    return f"{_b64(payload)}.{_b64(signature)}"


def read_token(token: str, *, secret: str | None = None) -> UnsubscribeTarget:
    """The target of a genuine token; raises ``InvalidInput`` for a forged or damaged one."""
    try:
        payload_part, signature_part = token.split(".", 1)
        payload, signature = _unb64(payload_part), _unb64(signature_part)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("This unsubscribe link is damaged.") from exc
    expected = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:20]
    if not hmac.compare_digest(signature, expected):
        raise InvalidInput("This unsubscribe link is not genuine.")
    try:
        workspace, channel, address = payload.decode().split(":", 2)
        return UnsubscribeTarget(workspace_id=int(workspace), channel=channel, address=address)
    except ValueError as exc:  # genuine but not in our format: nothing to act on
        raise InvalidInput("This unsubscribe link is damaged.") from exc


def unsubscribe_url(*, workspace_id: int, channel: str, address: str, base_url: str | None = None) -> str:
    """The public one-click unsubscribe URL for an address."""
    base = (base_url or get_settings().public_base_url).rstrip("/")
    token = make_token(workspace_id=workspace_id, channel=channel, address=address)
    return f"{base}/unsubscribe?{urlencode({'t': token})}"


def list_unsubscribe_headers(url: str) -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers for one-click unsubscribe."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
