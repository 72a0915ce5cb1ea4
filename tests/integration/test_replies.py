"""Replies read from a real IMAP server (Dovecot): messages sent over real SMTP (aiosmtpd), then the
replies, an auto-reply, a DSN bounce, an unsubscribe request and unrelated mail put in the mailbox —
each matched, classified and acted on once, across restarts, a renumbered folder and two readers."""

from __future__ import annotations

import email
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from core.db import UnitOfWork
from core.db.models import Lead, Message, Reply, Suppression, utcnow
from core.outreach import sender
from core.replies import inbox
from core.replies.imap import poll_mailbox
from core.replies.service import record_raw_mail
from tests.conftest import unique
from tests.fixtures.imap_server import DovecotServer
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for
from tests.fixtures.outreach_servers import SMTPServer


@pytest.fixture
def mailbox():
    with DovecotServer() as server:
        yield server


def imap_settings(server: DovecotServer, folder: str = "INBOX"):
    return settings_for(
        imap_host="127.0.0.1", imap_port=server.port, imap_ssl=False, imap_user=server.user,
        imap_password=SecretStr(server.password), imap_folder=folder,
    )


def sent_world(owner, count: int):
    """A workspace with its own From address, ``count`` leads, one message each, sent over real SMTP."""
    from_email = f"{unique('sam')}@sender-co.de"
    configure_workspace(owner, from_email=from_email)
    addresses = [f"{unique('ada')}@customer.example" for _ in range(count)]
    leads = [make_lead(owner, email=address) for address in addresses]
    ids = draft_and_queue(owner, leads)
    with SMTPServer() as smtp:
        sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(smtp_port=smtp.port))
        parsed = [email.message_from_bytes(envelope.content) for envelope in smtp.envelopes]
        sent = {parseaddr(message["To"])[1]: message for message in parsed}
    return from_email, addresses, leads, ids, [sent[address] for address in addresses]


def reply_to(original, body: str, *, sender_address: str | None = None, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender_address or original["To"]
    message["To"] = original["From"]
    message["Subject"] = "Re: " + original["Subject"]
    message["Message-ID"] = f"<{unique('r')}@customer.example>"
    message["In-Reply-To"] = original["Message-ID"]
    message["References"] = original["Message-ID"]
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def dsn_for(original, *, status: str = "5.1.1") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes it, carrying the original's headers."""
    recipient = parseaddr(original["To"])[1]
    headers = "".join(f"{k}: {v}\r\n" for k, v in original.items())
    return (
        "From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\r\n"
        f"To: {original['From']}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{unique('dsn')}@mx.customer.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not\r\n"
        f"be delivered to one or more recipients.\r\n\r\n<{recipient}>: host mx said: 550 {status} user unknown\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822; {recipient}\r\n"
        f"Action: failed\r\nStatus: {status}\r\nDiagnostic-Code: smtp; 550 {status} user unknown\r\n\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n--B--\r\n"
    ).encode()


def replies_of(workspace_id: int) -> list[Reply]:
    with UnitOfWork() as uow:
        rows = list(uow.session.scalars(select(Reply).where(Reply.workspace_id == workspace_id).order_by(Reply.id)))
        uow.session.expunge_all()  # keep the loaded values readable after the session ends
        return rows


def status(model, row_id: int) -> str:
    with UnitOfWork() as uow:
        return uow.session.get(model, row_id).status


def test_each_kind_of_mail_is_matched_classified_and_acted_on_once(owner, mailbox):
    from_email, addresses, leads, ids, sent = sent_world(owner, 4)
    interested = reply_to(
        sent[0],
        "Sounds good, let's talk on Tuesday.\n\nBest,\nAda\n\nOn Mon, Sam wrote:\n> Hi Ada,\n> would you like a demo?\n",
    )
    mailbox.append(interested)
    mailbox.append(reply_to(sent[1], "I am out of the office until Monday.", Auto_Submitted="auto-replied"))
    mailbox.append(dsn_for(sent[2]))
    mailbox.append(reply_to(sent[3], "Please remove me from your list."))
    stranger = EmailMessage()
    stranger["From"], stranger["To"], stranger["Subject"] = "news@elsewhere.example", from_email, "Our newsletter"
    stranger["Message-ID"] = f"<{unique('n')}@elsewhere.example>"
    stranger.set_content("Ten tips for your shop.")
    mailbox.append(stranger.as_bytes())

    result = poll_mailbox(settings=imap_settings(mailbox))

    assert (result.read, result.recorded, result.duplicates) == (5, 5, 0)
    got = {r.from_address: r for r in replies_of(owner.workspace_id)}
    first = got[addresses[0]]
    assert (first.label, first.matched_by, first.message_id, first.lead_id) == ("interested", "header", ids[0], leads[0])
    assert first.body == "Sounds good, let's talk on Tuesday."  # quote and signature stripped
    assert status(Lead, leads[0]) == "replied" and status(Message, ids[0]) == "replied"

    assert got[addresses[1]].label == "auto_reply"
    assert status(Lead, leads[1]) == "contacted" and status(Message, ids[1]) == "sent"

    bounce = got["mailer-daemon@mx.customer.example"]
    assert (bounce.label, bounce.matched_by, bounce.message_id) == ("bounce", "bounce", ids[2])
    assert (bounce.bounce_recipient, bounce.bounce_status) == (addresses[2], "5.1.1")
    assert status(Message, ids[2]) == "bounced"

    assert got[addresses[3]].label == "unsubscribe"
    assert status(Lead, leads[3]) == "do_not_contact"
    with UnitOfWork() as uow:
        suppressed = dict(uow.session.execute(
            select(Suppression.address, Suppression.reason).where(Suppression.workspace_id == owner.workspace_id)
        ).all())
    assert suppressed == {addresses[2]: "bounced", addresses[3]: "unsubscribed"}

    newsletter = got["news@elsewhere.example"]
    assert (newsletter.matched_by, newsletter.lead_id, newsletter.label) == ("to", None, "other")

    # the Inbox shows them all, and the open count drops as the team acts
    assert {v.id for v in inbox.list_replies(actor=owner)} == {r.id for r in got.values()}
    inbox.act_on_reply(actor=owner, reply_id=first.id, action="meeting")
    assert status(Lead, leads[0]) == "meeting"
    assert first.id not in {v.id for v in inbox.list_replies(actor=owner, open_only=True)}


def test_a_restart_of_server_and_reader_reads_nothing_twice(owner, mailbox):
    _, addresses, leads, ids, sent = sent_world(owner, 2)
    mailbox.append(reply_to(sent[0], "Sounds good."))
    first = poll_mailbox(settings=imap_settings(mailbox))
    mailbox.stop()
    mailbox.start()
    mailbox.append(reply_to(sent[1], "Not interested, thanks."))
    second = poll_mailbox(settings=imap_settings(mailbox))
    third = poll_mailbox(settings=imap_settings(mailbox))
    assert (first.read, second.read, third.read) == (1, 1, 0)
    assert [r.label for r in replies_of(owner.workspace_id)] == ["interested", "not_interested"]


def test_a_first_read_leaves_the_mail_from_before_the_first_send_alone(owner, mailbox):
    """The sending mailbox is a person's everyday one: years of older mail are not answers to us."""
    _, addresses, leads, ids, sent = sent_world(owner, 1)
    old = EmailMessage()
    old["From"], old["To"], old["Subject"] = addresses[0], "sam@sender-co.de", "Lunch on Friday?"
    old["Message-ID"] = f"<{unique('old')}@customer.example>"
    old.set_content("Shall we meet at noon?")
    mailbox.append(old.as_bytes(), received=datetime(2019, 3, 1, 12, 0, tzinfo=UTC))
    mailbox.append(reply_to(sent[0], "Sounds good."))

    first = poll_mailbox(settings=imap_settings(mailbox))

    assert (first.read, first.recorded, first.older) == (1, 1, 1)
    assert [r.subject for r in replies_of(owner.workspace_id)] == ["Re: " + sent[0]["Subject"]]
    later = EmailMessage()  # after the first read, every new mail is read, whatever date it carries
    later["From"], later["To"], later["Subject"] = addresses[0], "sam@sender-co.de", "Re: our call"
    later["Message-ID"] = f"<{unique('late')}@customer.example>"
    later.set_content("Tuesday works.")
    mailbox.append(later.as_bytes(), received=datetime(2019, 3, 2, 12, 0, tzinfo=UTC))
    second = poll_mailbox(settings=imap_settings(mailbox))
    assert (second.read, second.recorded, second.older) == (1, 1, 0)


def test_a_renumbered_folder_is_read_again_without_storing_anything_twice(owner, mailbox):
    _, addresses, leads, ids, sent = sent_world(owner, 3)
    mails = [reply_to(original, "Sounds good.") for original in sent]
    folder = unique("Replies")
    for raw in mails[:2]:
        mailbox.append(raw, folder)
    assert poll_mailbox(settings=imap_settings(mailbox, folder)).recorded == 2
    client = mailbox.client()
    client.delete_folder(folder)  # a new folder of the same name has a new UIDVALIDITY
    client.logout()
    for raw in mails:
        mailbox.append(raw, folder)
    again = poll_mailbox(settings=imap_settings(mailbox, folder))
    assert (again.reset, again.read, again.recorded, again.duplicates) == (True, 3, 1, 2)
    assert len(replies_of(owner.workspace_id)) == 3


def test_two_readers_at_once_store_each_mail_once(owner, mailbox):
    _, addresses, leads, ids, sent = sent_world(owner, 6)
    for original in sent:
        mailbox.append(reply_to(original, "Tell me more."))
    results, errors = [], []

    def read() -> None:
        try:
            results.append(poll_mailbox(settings=imap_settings(mailbox)))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.recorded for r in results) == 6
    assert len(replies_of(owner.workspace_id)) == 6
    with UnitOfWork() as uow:
        events = uow.session.scalar(
            select(func.count()).select_from(Message).where(Message.id.in_(ids), Message.status == "replied")
        )
    assert events == 6


def test_a_wrong_password_says_what_to_fix(mailbox):
    from core.errors import MailboxError

    settings = imap_settings(mailbox).model_copy(update={"imap_password": None, "smtp_password": None})
    with pytest.raises(MailboxError, match="refused the login: check IMAP_USER/IMAP_PASSWORD"):
        poll_mailbox(settings=settings)


def test_the_operator_sees_when_replies_stop_being_read(owner, mailbox):
    """A reader that stopped (no worker, a changed password) means follow-ups go to people who answered:
    the System page and ``core check`` say so once three polls (at least 10 minutes) went by without a read."""
    from core.monitoring.alerts import find_problems
    from core.monitoring.health import check_mailbox

    folder = unique("Folder")
    client = mailbox.client()
    client.create_folder(folder)
    client.logout()
    settings = imap_settings(mailbox, folder)
    never = check_mailbox(settings)
    assert never is not None and not never.ok and "has not been read yet" in never.detail
    sent_world(owner, 1)
    poll_mailbox(settings=settings)
    fresh = check_mailbox(settings)
    assert fresh is not None and fresh.ok and "read 0 min ago" in fresh.detail
    later = utcnow() + timedelta(minutes=11)
    stale = check_mailbox(settings, later)
    assert stale is not None and not stale.ok and "last read 11 min ago" in stale.detail
    assert any(p.check == "mailbox" and "last read" in p.detail for p in find_problems(settings=settings, now=later))
    assert check_mailbox(settings.model_copy(update={"imap_host": ""})) is None  # no mailbox, no check


def test_mail_matching_nothing_is_kept_for_the_operator_not_shown_to_a_team(owner):
    key = f"<{unique('lost')}@nowhere.example>"
    raw = f"From: someone@nowhere.example\r\nTo: {unique('x')}@unknown.example\r\nMessage-ID: {key}\r\nSubject: hi\r\n\r\nhello\r\n"
    before = inbox.unassigned_count()
    reply = record_raw_mail(raw=raw.encode(), source="file", fallback_key="k")
    assert reply is not None and reply.workspace_id is None
    assert inbox.unassigned_count() == before + 1
    assert key not in {r.source_key for r in replies_of(owner.workspace_id)}
    assert record_raw_mail(raw=raw.encode(), source="file", fallback_key="k") is None  # never twice


def test_hard_bounces_read_over_imap_pause_the_sender_and_the_operator_sees_it(owner, mailbox):
    """The bounce guard counts bounces however they arrive: DSNs in the mailbox pause a sender just as provider
    events do (more than 3 of its last 100 emails), and ``core check`` reports the pause."""
    from core.monitoring.alerts import find_problems
    from core.outreach import guard

    _from, addresses, _leads, ids, sent = sent_world(owner, 5)
    for original in sent[:3]:
        mailbox.append(dsn_for(original))
    poll_mailbox(settings=imap_settings(mailbox))
    assert [status(Message, i) for i in ids[:3]] == ["bounced"] * 3
    assert guard.paused_senders(workspace_id=owner.workspace_id) == []  # 3 of 5: at the limit, not over it

    mailbox.append(dsn_for(sent[3]))
    poll_mailbox(settings=imap_settings(mailbox))

    [paused] = guard.paused_senders(workspace_id=owner.workspace_id)
    assert (paused.channel, paused.provider) == ("email", "smtp")
    assert paused.reason.startswith("4 of its last 100 emails hard-bounced")
    alert = f"Workspace {owner.workspace_id}: Sending email through smtp is paused: 4 of its last 100"
    assert any(p.check == "bounce_guard" and p.detail.startswith(alert) for p in find_problems())
    assert addresses[4] not in {r.bounce_recipient for r in replies_of(owner.workspace_id)}
