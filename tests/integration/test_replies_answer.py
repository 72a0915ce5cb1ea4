"""Answering a reply from the Inbox (issue 16 §2, "reply from the mailbox"): the answer goes through the
outbox and real SMTP (aiosmtpd) in the person's thread, exactly once however often it is clicked, and
never to someone who asked not to be contacted."""

from __future__ import annotations

import email
import email.message
import email.policy
import threading
from datetime import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.background.runners import current_runner
from core.db import UnitOfWork
from core.db.models import Message, Reply
from core.errors import InvalidInput
from core.outreach import sender, timing
from core.replies import inbox
from core.replies.answer import answer_reply
from core.replies.service import record_raw_mail
from tests.conftest import unique
from tests.fixtures.held_queue import HeldQueue
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for
from tests.fixtures.outreach_servers import SMTPServer
from tests.integration.test_replies import reply_to, sent_world

GMAIL_STYLE_ID = "<CAF+Mixed.Case_Id=42@mail.gmail.com>"  # Message-IDs are case-sensitive


@pytest.fixture(autouse=True)
def held_jobs():
    """The send job is recorded but run by the test, with settings pointed at its SMTP server."""
    token = current_runner.set(HeldQueue())
    yield
    current_runner.reset(token)


def record(raw: bytes) -> int:
    recorded = record_raw_mail(raw=raw, source="imap", fallback_key=unique("k"))
    assert recorded is not None
    return recorded.id


def answers_to(lead_id: int) -> int:
    with UnitOfWork() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Message).where(Message.lead_id == lead_id)))


def test_the_answer_goes_out_once_over_smtp_in_the_persons_thread(owner):
    from_email, addresses, leads, ids, sent = sent_world(owner, 1)
    message = email.message_from_bytes(reply_to(sent[0], "Sounds good, what does it cost for two shops?"))
    del message["Message-ID"]
    message["Message-ID"] = GMAIL_STYLE_ID.replace("42", unique("n"))
    theirs = message["Message-ID"]
    reply_id = record(message.as_bytes())

    outcome = answer_reply(actor=owner, reply_id=reply_id, body="Hi Ada,\n\n49 EUR a month per shop.\n\nSam")
    assert (outcome.status, outcome.error) == ("queued", "") and outcome.job_id is not None
    with SMTPServer() as smtp:
        sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(smtp_port=smtp.port))
        (envelope,) = smtp.envelopes

    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert envelope.rcpt_tos == [addresses[0]]
    assert parseaddr(mail["From"])[1] == from_email  # from the workspace's own mailbox
    assert mail["Subject"] == "Re: " + sent[0]["Subject"]  # "Re: Re: …" is not doubled
    assert mail["In-Reply-To"] == theirs  # as they wrote it, case and all
    assert mail["References"].split() == [sent[0]["Message-ID"], theirs]  # our first mail, then theirs
    assert "49 EUR a month per shop." in mail.get_body(("plain",)).get_content()

    view = inbox.get_reply_or_raise(actor=owner, reply_id=reply_id)
    assert (view.answer_message_id, view.answer_status) == (outcome.message_id, "sent")
    assert view.handled_at is not None

    with pytest.raises(InvalidInput, match="answered already"):
        answer_reply(actor=owner, reply_id=reply_id, body="Hi again")
    assert answers_to(leads[0]) == 2  # the first outreach and one answer


def test_two_clicks_at_once_make_one_answer(owner):
    _, _, leads, _, sent = sent_world(owner, 1)
    reply_id = record(reply_to(sent[0], "Interested, tell me more."))
    results: list[object] = []
    start = threading.Barrier(2)

    def click() -> None:
        start.wait()
        try:
            results.append(answer_reply(actor=owner, reply_id=reply_id, body="Here is more."))
        except InvalidInput as error:
            results.append(error)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    refused = [r for r in results if isinstance(r, InvalidInput)]
    assert len(results) == 2 and len(refused) == 1, results
    assert "answered" in str(refused[0])
    assert answers_to(leads[0]) == 2


def test_no_answer_to_someone_who_asked_not_to_be_contacted(owner):
    _, addresses, leads, _, sent = sent_world(owner, 1)
    reply_id = record(reply_to(sent[0], "Please remove me from your list."))  # suppressed by the rules

    with pytest.raises(InvalidInput, match=f"{addresses[0]} asked not to be contacted"):
        answer_reply(actor=owner, reply_id=reply_id, body="Sorry to hear that!")
    assert answers_to(leads[0]) == 1
    with UnitOfWork() as uow:
        assert uow.session.get(Reply, reply_id).answer_message_id is None


def test_mail_matched_to_no_lead_and_an_empty_answer_are_refused_with_what_to_do(owner):
    from_email, _, _, _, sent = sent_world(owner, 1)
    stranger = email.message.EmailMessage()
    stranger["From"], stranger["To"], stranger["Subject"] = "news@elsewhere.example", from_email, "Newsletter"
    stranger["Message-ID"] = f"<{unique('n')}@elsewhere.example>"
    stranger.set_content("Ten tips for your shop.")
    unmatched = record(stranger.as_bytes())
    with pytest.raises(InvalidInput, match="not matched to a lead's contact.*mail program"):
        answer_reply(actor=owner, reply_id=unmatched, body="Thanks")

    matched = record(reply_to(sent[0], "Sounds good."))
    with pytest.raises(InvalidInput, match="empty"):
        answer_reply(actor=owner, reply_id=matched, body="   \n ")
    with pytest.raises(InvalidInput, match="allows 20,000"):
        answer_reply(actor=owner, reply_id=matched, body="x" * 20_001)
    assert inbox.get_reply_or_raise(actor=owner, reply_id=matched).answer_message_id is None


def test_the_answer_goes_at_once_outside_the_sending_window_and_past_a_used_up_cap(owner):
    """Cold outreach waits for the recipient's sending hours and the daily cap; an answer to someone who just
    wrote to us does not (it is still counted)."""
    _, addresses, _, _, sent = sent_world(owner, 1)
    today = datetime.now(ZoneInfo("Europe/Berlin")).weekday()
    configure_workspace(owner, send_weekdays=[d for d in range(7) if d != today], daily_caps={"email": 1, "sms": 1})
    cold_lead = make_lead(owner, email=f"{unique('cold')}@customer.example")
    (cold,) = draft_and_queue(owner, [cold_lead])
    reply_id = record(reply_to(sent[0], "Sounds good, what does it cost?"))
    outcome = answer_reply(actor=owner, reply_id=reply_id, body="49 EUR a month.")

    waiting = {view.message_id: view.why for view in timing.queued_schedule(actor=owner)}
    assert "an answer to their reply" in waiting[outcome.message_id]
    assert "waits for the sending window" in waiting[cold]
    assert timing.any_due(workspace_id=owner.workspace_id)
    with SMTPServer() as smtp:
        sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(smtp_port=smtp.port))
        assert [envelope.rcpt_tos for envelope in smtp.envelopes] == [[addresses[0]]]
    with UnitOfWork() as uow:
        assert uow.session.get(Message, outcome.message_id).status == "sent"
        assert uow.session.get(Message, cold).status == "queued"
    assert not timing.any_due(workspace_id=owner.workspace_id)  # only the cold message is left, and it waits
