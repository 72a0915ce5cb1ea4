"""Issue 16's evidence run: a three-step sequence to two contacts over real SMTP (aiosmtpd), one reply read
over real IMAP (Dovecot) while step 2 is queued, then an answer written from the Inbox.

mkdir -p /tmp/seqdemo && DATABASE_URL=sqlite:////tmp/seqdemo/demo.db DATA_DIR=/tmp/seqdemo PYTHONPATH=. .venv/bin/python docs/sequence_demo.py
"""

from __future__ import annotations

import email
import email.policy
import json
import sys
from email.message import EmailMessage

from pydantic import SecretStr
from sqlalchemy import select

from core.background.runners import current_runner
from core.config import get_settings
from core.db import UnitOfWork, migrate
from core.db.models import Enrollment, Message
from core.outreach import sender
from core.outreach import service as outreach
from core.replies import inbox
from core.replies.answer import answer_reply
from core.replies.imap import poll_mailbox
from core.sequences import advance, enrolment, funnel
from core.sequences import service as sequences
from core.sequences.models import StepInput
from tests.fixtures.held_queue import HeldQueue
from tests.fixtures.imap_server import DovecotServer
from tests.fixtures.outreach_data import configure_workspace, make_lead, settings_for
from tests.fixtures.outreach_servers import SMTPServer


def log(*parts: object) -> None:
    print(*parts, flush=True)


def main() -> None:
    migrate.upgrade(get_settings().resolved_database_url)
    from core.auth import service as auth

    email_address = "demo@seller.example"
    auth.sign_up(email=email_address, password="correct horse battery", workspace_name="Demo Sales")
    signed = auth.sign_in(email=email_address, password="correct horse battery")
    actor = auth.actor_for(user_id=signed.user_id, workspace_id=signed.workspaces[0][0])
    configure_workspace(actor, from_email="sam@sender-co.de")
    current_runner.set(HeldQueue())  # the demo runs the sender itself, with settings pointed at aiosmtpd

    t1 = outreach.save_template(actor=actor, name="Opener", channel="email", subject="Boxes for {{ company }}",
                                body="Hi {{ first_name }}, we make compostable boxes for {{ company }}.")
    t2 = outreach.save_template(actor=actor, name="Bump", channel="email", subject="Bump", body="Bumping this up.")
    t3 = outreach.save_template(actor=actor, name="Last", channel="email", subject="Last", body="One last idea.")
    sequence_id = sequences.save_sequence(actor=actor, name="Spring boxes", steps=[
        StepInput(channel="email", template_id=t1), StepInput(channel="email", template_id=t2, delay_days=2),
        StepInput(channel="email", template_id=t3, delay_days=3, subject="One last idea for {{ company }}")])
    ada = make_lead(actor, email="ada@ada-bakery.example", name="Ada Bakery", person="Ada Baker")
    bob = make_lead(actor, email="bob@bob-roasters.example", name="Bob Roasters", person="Bob Brewer")
    outcome = enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[ada, bob])
    log("enrolled", outcome.enrolled, "skipped", outcome.skipped)

    with DovecotServer() as mailbox, SMTPServer() as smtp:
        settings = settings_for(smtp_port=smtp.port).model_copy(update={
            "imap_host": "127.0.0.1", "imap_port": mailbox.port, "imap_ssl": False, "imap_user": mailbox.user,
            "imap_password": SecretStr(mailbox.password)})

        def send() -> list:
            before = len(smtp.envelopes)
            sender.send_queued(workspace_id=actor.workspace_id, settings=settings)
            new = [email.message_from_bytes(e.content, policy=email.policy.default) for e in smtp.envelopes[before:]]
            for m in new:
                log(f"  SENT to {m['To']}: {m['Subject']!r} In-Reply-To={m['In-Reply-To']} References={m['References']}")
            return new

        log("step 1:", advance.advance_due())
        first = {m["To"].addresses[0].addr_spec: m for m in send()}
        advance.advance_due()  # schedules step 2 after step 1 went out
        with UnitOfWork() as uow:
            due = min(uow.session.scalars(select(Enrollment.next_due_at).where(Enrollment.sequence_id == sequence_id)))
        log("step 2 queued:", advance.advance_due(now=due))
        reply = EmailMessage()
        original = first["ada@ada-bakery.example"]
        reply["From"], reply["To"] = "Ada Baker <ada@ada-bakery.example>", original["From"]
        reply["Subject"], reply["Message-ID"] = "Re: " + original["Subject"], "<CAF+Ada.Reply=1@mail.ada-bakery.example>"
        reply["In-Reply-To"] = reply["References"] = original["Message-ID"]
        reply.set_content("Sounds good, what do 500 boxes cost?\n\nAda\n\nOn Monday, Sam wrote:\n> Hi Ada, ...\n")
        mailbox.append(reply.as_bytes())
        log("IMAP read while step 2 is queued:", poll_mailbox(settings=settings))
        send()
        advance.advance_due()
        with UnitOfWork() as uow:
            due = min(d for d in uow.session.scalars(
                select(Enrollment.next_due_at).where(Enrollment.sequence_id == sequence_id)) if d is not None)
        log("step 3:", advance.advance_due(now=due))
        send()
        log("after the last step:", advance.advance_due())
        with UnitOfWork() as uow:
            for row in uow.session.scalars(select(Message).order_by(Message.lead_id, Message.step)):
                log(f"  message {row.id} lead {row.lead_id} step {row.step}: {row.status} {row.error}")
            for e in uow.session.scalars(select(Enrollment).where(Enrollment.sequence_id == sequence_id)):
                log(f"  enrolment of lead {e.lead_id}: {e.status} ({e.reason})")
        log("funnel:", [(r.position, r.sent, r.replied, r.bounced, r.unsubscribed)
                        for r in funnel.funnel(actor=actor, sequence_id=sequence_id)])

        (view,) = inbox.list_replies(actor=actor)
        log(f"Inbox: {view.lead_name} — {view.from_address} — {view.label} ({view.label_source}: {view.label_reason})"
            f" — shown text {view.body!r}")
        answered = answer_reply(actor=actor, reply_id=view.id, body="Hi Ada,\n\n500 boxes are 240 EUR.\n\nSam")
        log("answer from the Inbox:", answered)
        send()
        try:
            answer_reply(actor=actor, reply_id=view.id, body="again")
        except Exception as error:  # noqa: BLE001 - the demo prints what a second click gets
            log("a second answer:", type(error).__name__, error)
    print(json.dumps({"email": email_address, "password": "correct horse battery"}))


if __name__ == "__main__":
    sys.exit(main())
