"""The receiver under hostile input: replays with a re-encoded signature, odd signed bodies, huge bodies."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from core.outreach import suppression
from core.outreach.unsubscribe import make_token
from tests.conftest import unique
from tests.integration import test_outreach_receiver as receiver_tests
from tests.integration.test_outreach_receiver import PRIVATE_KEY, mailgun_payload, sendgrid_post, sent_message

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


def sendgrid_raw(client, body: bytes):
    """POST a genuinely signed SendGrid body, whatever it holds."""
    timestamp = str(int(time.time()))
    signature = base64.b64encode(PRIVATE_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    headers = {
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "Content-Type": "application/json",
    }
    return client.post("/hooks/sendgrid", content=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'["x",1,null]', "event 1 is not a JSON object"),
        (b"[" * 60 + b"]" * 60, "event 1 is not a JSON object"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (b'{"event": "bounce"}', "not a JSON list of events"),
        (b'[{"event": ["bounce"]}]', "event 1: 'event' is not a single value"),
        (
            b'[{"event": "bounce", "reason": ' + b"[" * 500 + b"]" * 500 + b"}]",
            "event 1: 'reason' is not a single value",
        ),
        (b"not json at all", "not JSON"),
    ],
)
def test_signed_but_odd_sendgrid_bodies_get_400_with_a_reason(client, body, reason):
    response = sendgrid_raw(client, body)
    assert response.status_code == 400
    assert reason in response.text


@pytest.mark.parametrize(
    ("event_data", "reason"),
    [
        ("delivered", "'event-data' is not a JSON object"),
        (["delivered"], "'event-data' is not a JSON object"),
        ({"event": "delivered", "user-variables": "x"}, "'user-variables' is not a JSON object"),
        ({"event": "delivered", "message": {"headers": 5}}, "'message.headers' is not a JSON object"),
        ({"event": "failed", "delivery-status": "gone"}, "'delivery-status' is not a JSON object"),
        ({"event": {"nested": 1}}, "'event' is not a single value"),
    ],
)
def test_signed_but_odd_mailgun_event_data_gets_400_with_a_reason(client, event_data, reason):
    response = client.post("/hooks/mailgun", json=mailgun_payload(event_data))
    assert response.status_code == 400
    assert reason in response.text


def test_an_unreadable_mailgun_body_is_refused_not_a_crash(client):
    deep = b'{"signature": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    assert client.post("/hooks/mailgun", content=deep, headers={"Content-Type": "application/json"}).status_code == 401


def test_a_genuine_unsubscribe_link_for_an_unknown_channel_gets_400(client, actor):
    token = make_token(workspace_id=actor.workspace_id, channel="fax", address="+4930123456")
    for response in (client.get(f"/unsubscribe?t={token}"), client.post(f"/unsubscribe?t={token}")):
        assert response.status_code == 400
        assert "fax" in response.text
    odd = make_token(workspace_id=actor.workspace_id, channel="email", address="no-at-sign")
    assert client.post(f"/unsubscribe?t={odd}").status_code == 400
    assert suppression.list_suppressions(actor=actor) == []


def test_a_message_id_no_database_can_hold_is_an_unknown_message_not_a_crash(client):
    events = [{"event": "delivered", "leadscout_message_id": "9" * 30, "sg_event_id": unique("ev")}]
    response = sendgrid_raw(client, json.dumps(events).encode())
    assert (response.status_code, response.json()) == (200, {"applied": 0})


def test_a_genuine_but_damaged_unsubscribe_token_is_refused_not_a_crash(client):
    token = make_token(workspace_id="not-a-number", channel="email", address="a@example.test")  # type: ignore[arg-type]
    assert client.post(f"/unsubscribe?t={token}").status_code == 403
