"""Standard Webhooks signatures: ``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``.

The secret is ``whsec_`` followed by the base64 of 24 random bytes; the HMAC key is those bytes.
See https://www.standardwebhooks.com/ (the receiving side verifies with the same three values).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh endpoint secret, ``whsec_<base64 of 24 random bytes>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def new_message_id() -> str:
    """A unique ``webhook-id`` (kept across retries, so receivers can drop duplicates)."""
    return "msg_" + uuid.uuid4().hex


def secret_bytes(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value for one message: ``v1,<base64 signature>``."""
    content = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers plus the content type, for one attempt."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, message_id=message_id, timestamp=timestamp, body=body),
    }
