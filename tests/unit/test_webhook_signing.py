"""Webhook signatures follow Standard Webhooks: the spec's reference library accepts ours, and a known vector matches."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.webhooks.signing import new_message_id, new_secret, sign, signed_headers


def test_the_reference_library_verifies_what_we_sign():
    secret, body = new_secret(), '{"type":"lead.created","data":{"id":1}}'
    headers = signed_headers(secret=secret, message_id=new_message_id(), timestamp=int(time.time()), body=body)
    assert Webhook(secret).verify(body, headers) == {"type": "lead.created", "data": {"id": 1}}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("1", "2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_a_signature_matches_the_reference_librarys_own_signing():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, timestamp, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
    ours = sign(secret=secret, message_id=msg_id, timestamp=timestamp, body=body)
    assert ours == Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body)
    assert ours == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="  # the example the spec's libraries test with


def test_secrets_are_whsec_and_24_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    assert secret != new_secret()
