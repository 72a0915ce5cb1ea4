"""A chunk of mail is stored with set-based statements (``record_many``): the same outcome as storing its
mails one after another, and a cost in statements that does not grow with the chunk."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import event, select

from core.db import UnitOfWork, get_engine
from core.db.models import AuditEvent, Contact, Enrollment, Lead, Message, MessageEvent, Reply, Suppression, utcnow
from core.replies.service import read_mail, record_many
from core.sequences import advance, enrolment
from core.sequences import service as sequences
from core.sequences.models import StepInput
from tests.conftest import make_owner, unique
from tests.fixtures.outreach_data import configure_workspace, make_lead
from tests.integration.test_sequences import template

KINDS = 7  # the mails each lead sends back, by its position: see ``mails_from``


def world(leads: int):
    """A workspace whose leads are in a two-step sequence, step one sent and step two queued; (owner, leads as
    (lead id, step one's message id, address))."""
    owner = make_owner()
    configure_workspace(owner)
    addresses = [f"{unique('p')}@customer{i}.example" for i in range(leads)]
    lead_ids = [make_lead(owner, email=address) for address in addresses]
    steps = [
        StepInput(channel="email", template_id=template(owner, body="Step one."), delay_days=0),
        StepInput(channel="email", template_id=template(owner, body="Step two."), delay_days=0),
    ]
    sequence_id = sequences.save_sequence(actor=owner, name=unique("seq"), steps=steps)
    outcome = enrolment.enrol(actor=owner, sequence_id=sequence_id, lead_ids=lead_ids)
    assert outcome.enrolled == tuple(lead_ids), outcome.skipped
    advance.advance_due()
    with UnitOfWork() as uow:
        first = {m.lead_id: m for m in uow.session.scalars(select(Message).where(Message.lead_id.in_(lead_ids)))}
        for message in first.values():
            message.status, message.provider, message.sent_at = "sent", "smtp", utcnow()
        message_ids = [first[lead_id].id for lead_id in lead_ids]
        uow.commit()
    advance.advance_due()
    with UnitOfWork() as uow:
        queued = uow.session.scalars(
            select(Message.lead_id).where(Message.lead_id.in_(lead_ids), Message.status == "queued")
        )
        assert sorted(queued) == sorted(lead_ids)
    return owner, list(zip(lead_ids, message_ids, addresses, strict=True))


def mails_from(owner, leads) -> list[bytes]:
    """Each lead's mail by its position: an answer, an unsubscribe request, an out-of-office, a hard bounce,
    an answer then an unsubscribe request in the same chunk, an answer with no threading headers, and a
    mail that came twice. One mail from a stranger at the end."""
    mails: list[bytes] = []
    for index, (_, message_id, address) in enumerate(leads):
        ours = f"<leadscout.{owner.workspace_id}.{message_id}@sender-co.de>"
        kind = index % KINDS
        if kind == 0:
            mails.append(answer(address, "Sounds good, let's talk on Tuesday.", ours))
        elif kind == 1:
            mails.append(answer(address, "Please remove me from your list.", ours))
        elif kind == 2:
            mails.append(
                f"From: {address}\nTo: sam@sender-co.de\nSubject: Automatic reply: Hello\nAuto-Submitted: auto-replied\n"
                f"Message-ID: <{unique('ooo')}@customer.example>\n\nI am out of the office until Monday.\n".encode()
            )
        elif kind == 3:
            mails.append(bounce(address))
        elif kind == 4:
            mails += [
                answer(address, "What does pricing look like?", ours),
                answer(address, "Actually, unsubscribe me.", ours),
            ]
        elif kind == 5:
            mails.append(answer(address, "Tell me more.", None))
        else:
            mails += [answer(address, "Not right now, maybe next quarter.", ours)] * 2
    return [*mails, answer(f"{unique('stranger')}@elsewhere.example", "Who is this?", None)]


def answer(address: str, text: str, in_reply_to: str | None) -> bytes:
    threading = f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n" if in_reply_to else ""
    return (
        f"From: Ada <{address}>\nTo: sam@sender-co.de\nSubject: Re: Hello\nMessage-ID: <{unique('r')}@customer.example>\n"
        f"{threading}\n{text}\n\nOn Mon, Sam wrote:\n> Hello from Sam\n"
    ).encode()


def bounce(address: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.customer.example\nTo: sam@sender-co.de\nSubject: Undelivered Mail Returned to Sender\n"
        f"Message-ID: <{unique('dsn')}@mx.customer.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.customer.example\n\n"
        f"Final-Recipient: rfc822; {address}\nAction: failed\nStatus: 5.1.1\n\n--B--\n"
    ).encode()


def read(raw: list[bytes]):
    return [read_mail(mail, source="imap", fallback_key=unique("k")) for mail in raw]


def state(owner, leads) -> dict[str, list]:
    """What the mails changed in the workspace, with each lead, message and address named by its position."""
    position = {lead_id: i for i, (lead_id, _, _) in enumerate(leads)}
    message_at = {message_id: i for i, (_, message_id, _) in enumerate(leads)}
    names = [(address, f"<address {i}>") for i, (_, _, address) in enumerate(leads)]

    def plain(text: str | None) -> str | None:
        for address, name in names:
            text = text.replace(address, name) if text else text
        return text

    ws = owner.workspace_id
    with UnitOfWork() as uow:
        s = uow.session
        return {
            "leads": [s.get(Lead, lead_id).status for lead_id, _, _ in leads],
            "messages": [
                (s.get(Message, message_id).status, plain(s.get(Message, message_id).error))
                for _, message_id, _ in leads
            ],
            "enrolments": sorted(
                (position[e.lead_id], e.status, e.reason, plain(e.detail))
                for e in s.scalars(select(Enrollment).where(Enrollment.lead_id.in_(sorted(position))))
            ),
            "queued steps": sorted(
                (position[m.lead_id], m.status, plain(m.error))
                for m in s.scalars(
                    select(Message).where(Message.lead_id.in_(sorted(position)), Message.enrollment_id.is_not(None))
                )
            ),
            "events": sorted(
                (message_at.get(e.message_id, -1), e.status, plain(e.detail))
                for e in s.scalars(
                    select(MessageEvent).where(
                        MessageEvent.workspace_id == ws, MessageEvent.status.not_in(("approved", "queued"))
                    )
                )
            ),
            "suppressions": sorted(
                (plain(x.address), x.reason, x.source)
                for x in s.scalars(select(Suppression).where(Suppression.workspace_id == ws))
            ),
            "replies": sorted(
                (position.get(r.lead_id, -1), message_at.get(r.message_id, -1), r.label, r.matched_by, r.body)
                for r in s.scalars(select(Reply).where(Reply.workspace_id == ws))
            ),
            "audit": sorted(
                a.detail["label"]
                for a in s.scalars(
                    select(AuditEvent).where(AuditEvent.workspace_id == ws, AuditEvent.action == "reply.received")
                )
            ),
            "contacts": sorted(
                position[c.lead_id] for c in s.scalars(select(Contact).where(Contact.workspace_id == ws))
            ),
        }


def test_a_chunk_stored_at_once_ends_as_its_mails_stored_one_by_one():
    one_owner, one_leads = world(2 * KINDS)
    batch_owner, batch_leads = world(2 * KINDS)
    with UnitOfWork() as uow:
        singles = [record_many(uow.session, [mail])[0] for mail in read(mails_from(one_owner, one_leads))]
        uow.commit()
    with UnitOfWork() as uow:
        batch = record_many(uow.session, read(mails_from(batch_owner, batch_leads)))
        uow.commit()
    assert [reply is None for reply in batch] == [reply is None for reply in singles]
    assert sum(reply is None for reply in batch) == 2  # the mail that came twice, once per lead sending it
    one, at_once = state(one_owner, one_leads), state(batch_owner, batch_leads)
    assert at_once == one
    # and what it ended as is what the mails asked for
    assert at_once["leads"][:KINDS] == [
        "replied",
        "do_not_contact",
        "qualified",
        "qualified",
        "do_not_contact",
        "replied",
        "replied",
    ]
    assert at_once["enrolments"][:KINDS] == [
        (0, "left", "replied", "imap: interested from <address 0>"),
        (1, "left", "replied", "imap: unsubscribe request from <address 1>"),
        (2, "active", "", ""),  # an out-of-office is not an answer
        (3, "left", "bounced", "hard bounce: delivery status report for <address 3> (5.1.1)"),
        (4, "left", "replied", "imap: interested from <address 4>"),  # the first of its two mails
        (5, "left", "replied", "imap: interested from <address 5>"),
        (6, "left", "replied", "imap: not now from <address 6>"),
    ]
    assert [status for position, status, _ in at_once["queued steps"] if position == 0] == ["failed", "replied"]
    assert ("<address 3>", "bounced", "smtp:event") in at_once["suppressions"]
    assert ("<address 1>", "unsubscribed", "imap:reply") in at_once["suppressions"]


def test_a_chunk_costs_the_same_statements_whatever_its_size():
    def statements(leads: int) -> int:
        owner, sent = world(leads)
        mails = read(mails_from(owner, sent))
        executed: list[str] = []

        def count(conn, clause, multiparams, params, execution_options):
            executed.append(str(clause)[:60])

        event.listen(get_engine(), "before_execute", count)
        try:
            with UnitOfWork() as uow:
                stored = record_many(uow.session, mails)
                uow.commit()
        finally:
            event.remove(get_engine(), "before_execute", count)
        assert sum(reply is not None for reply in stored) == len(mails) - leads // KINDS
        return executed

    # both have more than 3 hard bounces among their sender's last 100 emails: the guard pauses it in both
    assert Counter(statements(4 * KINDS)) == Counter(statements(12 * KINDS))
