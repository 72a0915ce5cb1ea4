"""Replies handed over by SendGrid Inbound Parse and Mailgun routes, through the receiver: verified,
stored once, matched and acted on like a mail read over IMAP; unsigned, forged and replayed change nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from email.message import EmailMessage

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from starlette.testclient import TestClient

from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Lead, Message, Reply
from tests.conftest import unique
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead
from tests.integration.test_outreach_receiver import MAILGUN_KEY, PRIVATE_KEY, PUBLIC, PUBLIC_KEY_B64


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("SENDGRID_INBOUND_PUBLIC_KEY", PUBLIC_KEY_B64)
    monkeypatch.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", MAILGUN_KEY)
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    get_settings.cache_clear()
    from workers.receiver import app

    with TestClient(app, base_url=PUBLIC) as test_client:
        yield test_client
    get_settings.cache_clear()


def sent(owner) -> tuple[int, int, str]:
    configure_workspace(owner)
    address = f"{unique('ada')}@customer.example"
    lead_id = make_lead(owner, email=address)
    (message_id,) = draft_and_queue(owner, [lead_id])
    with UnitOfWork() as uow:
        message = uow.session.get(Message, message_id)
        message.status, message.provider = "sent", "sendgrid"
        uow.commit()
    return lead_id, message_id, address


def reply(owner, message_id: int, address: str, text: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = address, "sam@sender.example.test", "Re: Hello"
    mail["Message-ID"] = f"<{unique('r')}@customer.example>"
    mail["In-Reply-To"] = f"<leadscout.{owner.workspace_id}.{message_id}@sender.example.test>"
    mail.set_content(text)
    return mail


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


def sendgrid_post(client, fields, *, sign=True, timestamp=None):
    body, content_type = multipart(fields)
    timestamp = timestamp or str(int(time.time()))
    headers = {"Content-Type": content_type, "X-Twilio-Email-Event-Webhook-Timestamp": timestamp}
    if sign:
        signature = PRIVATE_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers["X-Twilio-Email-Event-Webhook-Signature"] = base64.b64encode(signature).decode()
    return client.post("/hooks/sendgrid/inbound", content=body, headers=headers)


def mailgun_fields(extra: dict[str, str], *, key: str = MAILGUN_KEY) -> dict[str, str]:
    timestamp, token = str(int(time.time())), uuid.uuid4().hex
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature, **extra}


def lead_status(lead_id: int) -> str:
    with UnitOfWork() as uow:
        return uow.session.get(Lead, lead_id).status


def replies_for(message_id: int) -> int:
    with UnitOfWork() as uow:
        return uow.session.scalar(select(func.count()).select_from(Reply).where(Reply.message_id == message_id))


def test_sendgrid_raw_mime_reply_is_stored_once_and_moves_the_lead(client, owner):
    lead_id, message_id, address = sent(owner)
    fields = {"email": reply(owner, message_id, address, "Sounds good, let's talk.").as_string(), "to": "x"}
    first = sendgrid_post(client, fields)
    assert first.status_code == 200 and first.json() == {"stored": True, "label": "interested"}
    assert lead_status(lead_id) == "replied"
    # the same delivery again is a replay; the same mail in a new delivery is stored once
    again = client.post("/hooks/sendgrid/inbound", content=first.request.content, headers=dict(first.request.headers))
    assert again.status_code == 403
    assert sendgrid_post(client, fields).json() == {"stored": False, "label": None}
    assert replies_for(message_id) == 1


def test_sendgrid_parsed_fields_without_raw_mime(client, owner):
    lead_id, message_id, address = sent(owner)
    mail = reply(owner, message_id, address, "")
    headers = "".join(f"{k}: {v}\n" for k, v in mail.items())
    answer = sendgrid_post(client, {"headers": headers, "text": "Please remove me from your list.", "from": address})
    assert answer.json() == {"stored": True, "label": "unsubscribe"}
    assert lead_status(lead_id) == "do_not_contact"


def test_unsigned_or_forged_sendgrid_mail_changes_nothing(client, owner):
    lead_id, message_id, address = sent(owner)
    fields = {"email": reply(owner, message_id, address, "Sounds good.").as_string()}
    assert sendgrid_post(client, fields, sign=False).status_code == 401
    body, content_type = multipart(fields)
    forged = client.post("/hooks/sendgrid/inbound", content=body, headers={
        "Content-Type": content_type, "X-Twilio-Email-Event-Webhook-Timestamp": str(int(time.time())),
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(b"not a signature").decode()})
    assert forged.status_code == 403
    assert replies_for(message_id) == 0 and lead_status(lead_id) == "qualified"  # as it was


def test_mailgun_route_with_mime_and_with_parsed_fields(client, owner):
    lead_id, message_id, address = sent(owner)
    mime = reply(owner, message_id, address, "Not right now, maybe next quarter.")
    answer = client.post("/hooks/mailgun/inbound/mime", data=mailgun_fields({"body-mime": mime.as_string()}))
    assert answer.json() == {"stored": True, "label": "not_now"}
    other = reply(owner, message_id, address, "")
    parsed = mailgun_fields({
        "message-headers": json.dumps([[k, v] for k, v in other.items()]),
        "body-plain": "Thanks, but we're not interested.",
        "sender": address,
    })
    assert client.post("/hooks/mailgun/inbound", data=parsed).json() == {"stored": True, "label": "not_interested"}
    assert replies_for(message_id) == 2 and lead_status(lead_id) == "replied"
    assert client.post("/hooks/mailgun/inbound", data=parsed).status_code == 403  # the same token again


def test_mailgun_forged_or_unreadable(client, owner):
    lead_id, message_id, address = sent(owner)
    forged = mailgun_fields({"body-mime": reply(owner, message_id, address, "Sounds good.").as_string()}, key="wrong")
    assert client.post("/hooks/mailgun/inbound/mime", data=forged).status_code == 403
    assert client.post("/hooks/mailgun/inbound", data={"body-plain": "hi"}).status_code == 401
    bad = client.post("/hooks/mailgun/inbound", data=mailgun_fields({"message-headers": "{not json"}))
    assert bad.status_code == 400 and "not JSON" in bad.text
    assert replies_for(message_id) == 0
