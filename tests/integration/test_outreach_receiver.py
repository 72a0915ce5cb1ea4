"""The receiver: one-click unsubscribe and signed webhooks; forged, unsigned and replayed change nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Lead, Message
from core.outreach import sender, suppression
from core.outreach.unsubscribe import unsubscribe_url
from core.replies import inbox
from tests.conftest import unique
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for
from tests.fixtures.outreach_servers import ProviderServer

PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY_B64 = base64.b64encode(PRIVATE_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
MAILGUN_KEY = "mailgun-signing-key-for-tests"
TWILIO_TOKEN = "twilio-token"
PUBLIC = "https://leadscout.example.test"


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", PUBLIC_KEY_B64)
    monkeypatch.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", MAILGUN_KEY)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_FROM", "+15005550006")
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    get_settings.cache_clear()
    from workers.receiver import app

    with TestClient(app, base_url=PUBLIC) as test_client:
        yield test_client
    get_settings.cache_clear()


@pytest.fixture
def actor(owner):
    configure_workspace(owner)
    return owner


def sendgrid_post(client, events, *, timestamp=None, key=PRIVATE_KEY, signature=None):
    body = json.dumps(events).encode()
    timestamp = timestamp or str(int(time.time()))
    if signature is None:
        signature = base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    headers = {"X-Twilio-Email-Event-Webhook-Timestamp": timestamp, "Content-Type": "application/json"}
    if signature:
        headers["X-Twilio-Email-Event-Webhook-Signature"] = signature
    return client.post("/hooks/sendgrid", content=body, headers=headers)


def sent_message(actor, provider, channel="email", **lead):
    with ProviderServer() as server:
        ids = draft_and_queue(actor, [make_lead(actor, **lead)], channel=channel,
                              **({"body": "Hi {{ company }}"} if channel == "sms" else {}))
        sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(server.url, provider=provider))
    with UnitOfWork() as uow:
        m = uow.session.get(Message, ids[0])
        return SimpleNamespace(id=m.id, provider_message_id=m.provider_message_id, lead_id=m.lead_id)


def status_of(message_id):
    with UnitOfWork() as uow:
        return uow.session.get(Message, message_id).status


def test_healthz(client):
    assert client.get("/healthz").json() == {"ok": True}


def test_one_click_unsubscribe(client, actor):
    address = f"{unique('u')}@example.test"
    url = unsubscribe_url(workspace_id=actor.workspace_id, channel="email", address=address, base_url=PUBLIC)
    path = url[len(PUBLIC):]
    page = client.get(path)
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert suppression.list_suppressions(actor=actor) == []  # a GET changes nothing
    done = client.post(path, content="List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200
    [row] = suppression.list_suppressions(actor=actor)
    assert (row.address, row.reason, row.source) == (address, "unsubscribed", "one-click")
    forged = path.replace(path.split(".")[-1][:4], "AAAA")
    assert client.post(forged).status_code == 403


def test_sendgrid_events_valid_forged_unsigned_replayed(client, actor):
    message = sent_message(actor, "sendgrid", email=f"{unique('s')}@example.test")
    event = {"event": "delivered", "sg_event_id": unique("ev"), "sg_message_id": f"{message.provider_message_id}.f1",
             "leadscout_message_id": str(message.id), "email": "x@example.test", "timestamp": int(time.time())}
    other_key = ec.generate_private_key(ec.SECP256R1())
    assert sendgrid_post(client, [event], key=other_key).status_code == 403
    assert sendgrid_post(client, [event], signature="").status_code == 401
    assert sendgrid_post(client, [event], timestamp=str(int(time.time()) - 3600)).status_code == 403
    assert status_of(message.id) == "sent"
    timestamp = str(int(time.time()))
    body = json.dumps([event]).encode()
    signature = base64.b64encode(PRIVATE_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    assert sendgrid_post(client, [event], timestamp=timestamp, signature=signature).status_code == 200
    assert status_of(message.id) == "delivered"
    assert sendgrid_post(client, [event], timestamp=timestamp, signature=signature).status_code == 403  # replay
    bounce = {**event, "event": "spamreport", "sg_event_id": unique("ev")}
    assert sendgrid_post(client, [bounce]).status_code == 200
    assert [s.reason for s in suppression.list_suppressions(actor=actor)] == ["complaint"]


def mailgun_payload(event_data, *, key=MAILGUN_KEY, timestamp=None, token=None):
    timestamp = timestamp or str(int(time.time()))
    token = token or unique("tok")
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event_data}


def test_mailgun_events_valid_forged_unsigned_replayed(client, actor):
    address = f"{unique('m')}@example.test"
    message = sent_message(actor, "mailgun", email=address)
    data = {"event": "failed", "severity": "permanent", "id": unique("mg"), "recipient": address,
            "user-variables": {"leadscout_message_id": str(message.id)}, "delivery-status": {"message": "mailbox gone"}}
    assert client.post("/hooks/mailgun", json=mailgun_payload(data, key="wrong")).status_code == 403
    assert client.post("/hooks/mailgun", json={"event-data": data}).status_code == 401
    assert status_of(message.id) == "sent" and suppression.list_suppressions(actor=actor) == []
    payload = mailgun_payload(data)
    assert client.post("/hooks/mailgun", json=payload).status_code == 200
    assert status_of(message.id) == "bounced"
    assert [s.reason for s in suppression.list_suppressions(actor=actor)] == ["bounced"]
    assert client.post("/hooks/mailgun", json=payload).status_code == 403  # same token: replay


def twilio_post(client, path, params, *, token=TWILIO_TOKEN, signed=True):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(PUBLIC + path, params)
    return client.post(path, content=urlencode(params), headers=headers)


def test_twilio_status_callback_and_inbound_stop_start_reply(client, actor):
    phone = f"+49151{int(time.time() * 1000) % 10**8:08d}"
    message = sent_message(actor, "outbox", channel="sms", phone=phone)
    path = f"/hooks/twilio?m={message.id}"
    status = {"MessageSid": message.provider_message_id or "SMx", "MessageStatus": "delivered", "To": phone}
    assert twilio_post(client, path, status, token="forged").status_code == 403
    assert twilio_post(client, path, status, signed=False).status_code == 401
    with UnitOfWork() as uow:  # the outbox message is provider "outbox"; pretend Twilio sent it
        uow.session.get(Message, message.id).provider = "twilio"
        uow.commit()
    assert twilio_post(client, path, status).status_code == 200
    assert status_of(message.id) == "delivered"
    assert twilio_post(client, path, status).status_code == 403  # replay
    inbound = {"From": phone, "To": "+15005550006", "Body": "STOP", "MessageSid": unique("SM"), "SmsStatus": "received"}
    assert twilio_post(client, "/hooks/twilio", inbound).status_code == 200
    assert [(s.channel, s.reason) for s in suppression.list_suppressions(actor=actor)] == [("sms", "stop")]
    start = {**inbound, "Body": "START", "MessageSid": unique("SM")}
    assert twilio_post(client, "/hooks/twilio", start).status_code == 200
    assert suppression.list_suppressions(actor=actor) == []
    reply = {**inbound, "Body": "Sounds good, call me", "MessageSid": unique("SM")}
    assert twilio_post(client, "/hooks/twilio", reply).headers["X-LeadScout-Outcome"] == "reply"
    assert status_of(message.id) == "replied"
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(Lead.status).where(Lead.id == message.lead_id)) == "replied"
    # every inbound text is kept in the Inbox, classified, beside the mail replies
    texts = inbox.list_replies(actor=actor, lead_id=message.lead_id)
    assert sorted((t.channel, t.body, t.label, t.message_id) for t in texts) == [
        ("sms", "START", "other", message.id),
        ("sms", "STOP", "unsubscribe", message.id),
        ("sms", "Sounds good, call me", "interested", message.id),
    ]


def test_sync_suppressions_from_sendgrid_and_mailgun(actor):
    from core.outreach.sync import sync_suppressions

    bounced, spam, unsub = (f"{unique(p)}@example.test" for p in ("b", "s", "u"))
    for address in (bounced, spam, unsub):
        make_lead(actor, email=address)
    with ProviderServer() as server:
        server.suppressions.update(bounces=[bounced], spam_reports=[spam], unsubscribes=[unsub], complaints=[spam])
        added = sync_suppressions(settings=settings_for(server.url))
    assert added["sendgrid"] == 3
    reasons = {s.address: s.reason for s in suppression.list_suppressions(actor=actor)}
    assert reasons == {bounced: "bounced", spam: "complaint", unsub: "unsubscribed"}
