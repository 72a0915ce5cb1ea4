"""The receiver under hostile input: replays with a re-encoded signature, odd signed bodies, huge bodies."""

from __future__ import annotations

import base64
import json
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from core.outreach import suppression
from tests.conftest import unique
from tests.integration import test_outreach_receiver as receiver_tests
from tests.integration.test_outreach_receiver import PRIVATE_KEY, sendgrid_post, sent_message

client, actor = receiver_tests.client, receiver_tests.actor  # the receiver's fixtures, shared

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def signed_sendgrid(events) -> tuple[str, str]:
    """A genuine (timestamp, signature) pair for the JSON body of ``events``."""
    timestamp = str(int(time.time()))
    body = json.dumps(events).encode()
    return timestamp, base64.b64encode(PRIVATE_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def malleated(signature_b64: str) -> str:
    """The other valid ECDSA signature of the same message: (r, n - s)."""
    r, s = decode_dss_signature(base64.b64decode(signature_b64))
    return base64.b64encode(encode_dss_signature(r, P256_ORDER - s)).decode()


def test_sendgrid_replay_with_a_reencoded_or_malleated_signature_is_refused(client, actor):
    address = f"{unique('spam')}@example.test"
    message = sent_message(actor, "sendgrid", email=address)
    events = [
        {
            "event": "spamreport",
            "sg_event_id": unique("ev"),
            "email": address,
            "timestamp": int(time.time()),
            "sg_message_id": f"{message.provider_message_id}.f1",
            "leadscout_message_id": str(message.id),
        }
    ]
    timestamp, signature = signed_sendgrid(events)
    assert sendgrid_post(client, events, timestamp=timestamp, signature=signature).status_code == 200
    assert [s.address for s in suppression.list_suppressions(actor=actor)] == [address]
    assert suppression.remove_suppression(actor=actor, channel="email", address=address)  # an admin lifts it

    for replayed in (malleated(signature), signature + "=", signature + "==", " " + signature):
        response = sendgrid_post(client, events, timestamp=timestamp, signature=replayed)
        assert response.status_code == 403, replayed
    assert suppression.list_suppressions(actor=actor) == []  # the deleted suppression stays deleted
