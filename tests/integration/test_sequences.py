"""Sequences end to end (issue 16 §1): steps through the real outbox and a real SMTP server (aiosmtpd),
threaded follow-ups parsed back with ``email``, and every way out — a reply (also while the next step is
queued), a bounce, an unsubscribe, an SMS STOP, a lead status, by hand — plus working-day delays,
pause/resume and the reasons an enrolment skips a lead."""

from __future__ import annotations

import email
import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from core.db import UnitOfWork
from core.db.models import Enrollment, Lead, Message
from core.errors import NotFound
from core.leads import service as leads
from core.llm import OpenAILLM
from core.outreach import sender, service, suppression, timing
from core.outreach.events import apply_event, apply_inbound_sms
from core.outreach.models import ProviderEvent
from core.replies.service import record_raw_mail
from core.sequences import advance, enrolment, funnel
from core.sequences import service as sequences
from core.sequences.models import StepInput
from tests.conftest import make_owner, unique
from tests.fixtures.openai_server import FakeOpenAI
from tests.fixtures.outreach_data import configure_workspace, make_lead, settings_for
from tests.fixtures.outreach_servers import ProviderServer, SMTPServer


@pytest.fixture
def actor(owner):
    configure_workspace(owner)
    return owner


def template(actor, *, channel="email", subject="Hello {{ company }}", body="Hi {{ first_name }}, a note.") -> int:
    return service.save_template(actor=actor, name=unique("tpl"), channel=channel,
                                 subject=subject if channel == "email" else "", body=body)


def three_step_sequence(actor, *, own_subject_last: str = "One last idea for {{ company }}") -> int:
    steps = [
        StepInput(channel="email", template_id=template(actor, body="Step one for {{ company }}."), delay_days=0),
        StepInput(channel="email", template_id=template(actor, body="Step two, bumping this."), delay_days=2),
        StepInput(channel="email", template_id=template(actor, body="Step three."), delay_days=3,
                  subject=own_subject_last),
    ]
    return sequences.save_sequence(actor=actor, name=unique("seq"), steps=steps)


def enrollment_of(sequence_id: int, lead_id: int) -> Enrollment:
    with UnitOfWork() as uow:
        row = uow.session.scalar(
            select(Enrollment).where(Enrollment.sequence_id == sequence_id, Enrollment.lead_id == lead_id)
        )
        uow.session.expunge(row)
        return row


def messages_of(enrollment_id: int) -> list[Message]:
    with UnitOfWork() as uow:
        rows = list(uow.session.scalars(
            select(Message).where(Message.enrollment_id == enrollment_id).order_by(Message.step)
        ))
        for row in rows:
            uow.session.expunge(row)
        return rows


def send_all(actor, smtp) -> list:
    sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(smtp_port=smtp.port))
    return [email.message_from_bytes(envelope.content) for envelope in smtp.envelopes]


def run_until_next_step(sequence_id: int, lead_id: int) -> datetime:
    """Schedule the next step after the sent one, then advance to its due time; returns that time."""
    advance.advance_due()  # the previous step was sent: its successor gets a due time
    due = enrollment_of(sequence_id, lead_id).next_due_at
    assert due is not None
    advance.advance_due(now=due)
    return due


def reply_to(original, body: str) -> bytes:
    message = EmailMessage()
    message["From"] = original["To"]
    message["To"] = original["From"]
    message["Subject"] = "Re: " + original["Subject"]
    message["Message-ID"] = f"<{unique('r')}@customer.example>"
    message["In-Reply-To"] = original["Message-ID"]
    message["References"] = original["Message-ID"]
    message.set_content(body)
    return message.as_bytes()


def test_three_steps_go_threaded_through_smtp_then_the_enrolment_finishes(actor):
    lead_id = make_lead(actor, email=f"{unique('ada')}@customer.example", name="Acme")
    sequence_id = three_step_sequence(actor)
    outcome = enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[lead_id])
    assert outcome.enrolled == (lead_id,) and outcome.skipped == ()
    with SMTPServer() as smtp:
        assert advance.advance_due().queued == 1
        first = send_all(actor, smtp)
        assert len(first) == 1 and first[0]["Subject"] == "Hello Acme"
        assert first[0]["In-Reply-To"] is None
        due_two = run_until_next_step(sequence_id, lead_id)
        second = send_all(actor, smtp)[1:]
        due_three = run_until_next_step(sequence_id, lead_id)
        third = send_all(actor, smtp)[2:]
        advance.advance_due()
        again = send_all(actor, smtp)
    assert len(second) == 1 and len(third) == 1 and len(again) == 3
    one, two, three = first[0]["Message-ID"], second[0]["Message-ID"], third[0]["Message-ID"]
    assert len({one, two, three}) == 3
    assert second[0]["Subject"] == "Re: Hello Acme"
    assert second[0]["In-Reply-To"] == one and second[0]["References"].split() == [one]
    assert third[0]["Subject"] == "One last idea for Acme"
    assert third[0]["In-Reply-To"] == two and third[0]["References"].split() == [one, two]
    assert "Step two, bumping this." in second[0].get_payload(decode=True).decode()
    assert second[0]["List-Unsubscribe"].startswith("<https://leadscout.example.test/unsubscribe?t=")
    done = enrollment_of(sequence_id, lead_id)
    assert (done.status, done.next_position) == ("finished", None)
    sent = messages_of(done.id)
    assert [m.step for m in sent] == [1, 2, 3] and {m.status for m in sent} == {"sent"}
    # each delay counts working days (here every day) from the local day the previous step went out
    berlin = ZoneInfo("Europe/Berlin")
    for due, previous, days in ((due_two, sent[0], 2), (due_three, sent[1], 3)):
        day = previous.sent_at.astimezone(berlin).date() + timedelta(days=days)
        assert due == datetime(day.year, day.month, day.day, tzinfo=berlin)
    rows = funnel.funnel(actor=actor, sequence_id=sequence_id)
    assert [(r.position, r.sent, r.replied) for r in rows] == [(1, 1, 0), (2, 1, 0), (3, 1, 0)]


def test_through_sendgrid_a_follow_up_threads_on_the_message_id_sendgrid_was_given(actor):
    """SendGrid makes up a Message-ID unless it is given one: then the follow-up's In-Reply-To would name a
    mail nobody received, and a reply would be matched only by its sender's address."""
    lead_id = make_lead(actor, email=f"{unique('ada')}@customer.example", name="Acme")
    sequence_id = three_step_sequence(actor)
    enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[lead_id])
    with ProviderServer() as providers:
        grid = settings_for(providers.url, provider="sendgrid")
        advance.advance_due()
        assert sender.send_queued(workspace_id=actor.workspace_id, settings=grid).sent == 1
        run_until_next_step(sequence_id, lead_id)
        assert sender.send_queued(workspace_id=actor.workspace_id, settings=grid).sent == 1
        first, second = (call["json"]["headers"] for call in providers.calls_to("sendgrid"))
    step_one = messages_of(enrollment_of(sequence_id, lead_id).id)[0]
    assert first["Message-ID"] == f"<leadscout.{actor.workspace_id}.{step_one.id}@sender-co.de>"
    assert second["In-Reply-To"] == first["Message-ID"] and second["References"] == first["Message-ID"]
    original = EmailMessage()
    original["From"], original["To"] = "Sam Sender <sam@sender-co.de>", "ada@customer.example"
    original["Subject"], original["Message-ID"] = step_one.subject, first["Message-ID"]
    recorded = record_raw_mail(raw=reply_to(original, "Yes, let's talk."), source="imap", fallback_key=unique("k"))
    assert recorded is not None and recorded.matched_by == "header"


def test_a_reply_while_step_two_is_queued_stops_step_two(actor):
    lead_id = make_lead(actor, email=f"{unique('ada')}@customer.example", name="Acme")
    sequence_id = three_step_sequence(actor)
    enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[lead_id])
    with SMTPServer() as smtp:
        advance.advance_due()
        first = send_all(actor, smtp)
        run_until_next_step(sequence_id, lead_id)
        enrolled = enrollment_of(sequence_id, lead_id)
        assert [m.status for m in messages_of(enrolled.id)] == ["sent", "queued"]
        recorded = record_raw_mail(raw=reply_to(first[0], "Sounds good, call me."), source="imap", fallback_key="k1")
        assert recorded is not None and recorded.label != "auto_reply"
        after = send_all(actor, smtp)
        advance.advance_due(now=datetime.now(UTC) + timedelta(days=30))
    assert len(after) == 1  # only step one ever reached the server
    left = enrollment_of(sequence_id, lead_id)
    assert (left.status, left.reason) == ("left", "replied")
    step_two = messages_of(left.id)[1]
    assert step_two.status == "failed" and "left the sequence" in step_two.error
    assert len(messages_of(left.id)) == 2  # and no step three was made
    rows = funnel.funnel(actor=actor, sequence_id=sequence_id)
    assert [(r.position, r.sent, r.replied) for r in rows] == [(1, 1, 1), (2, 0, 0), (3, 0, 0)]


def test_a_reply_before_the_next_step_is_due_ends_the_enrolment_at_once(actor):
    lead_id = make_lead(actor, email=f"{unique('ada')}@customer.example")
    sequence_id = three_step_sequence(actor)
    enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[lead_id])
    with SMTPServer() as smtp:
        advance.advance_due()
        first = send_all(actor, smtp)
        record_raw_mail(raw=reply_to(first[0], "Not interested, thanks."), source="imap", fallback_key="k2")
        assert enrollment_of(sequence_id, lead_id).status == "left"
        advance.advance_due(now=datetime.now(UTC) + timedelta(days=30))
        assert len(send_all(actor, smtp)) == 1
    assert len(messages_of(enrollment_of(sequence_id, lead_id).id)) == 1


def test_an_auto_reply_does_not_end_the_sequence(actor):
    lead_id = make_lead(actor, email=f"{unique('ada')}@customer.example")
    sequence_id = three_step_sequence(actor)
    enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[lead_id])
    with SMTPServer() as smtp:
        advance.advance_due()
        first = send_all(actor, smtp)
        message = email.message_from_bytes(reply_to(first[0], "I am out of the office until Monday."))
        message["Auto-Submitted"] = "auto-replied"
        record_raw_mail(raw=message.as_bytes(), source="imap", fallback_key="k3")
        run_until_next_step(sequence_id, lead_id)
        assert len(send_all(actor, smtp)) == 2
    assert enrollment_of(sequence_id, lead_id).status == "active"


def queued_step_two(actor, *, phone: str | None = None):
    """A lead whose step one went out and whose step two is queued; (sequence id, lead id, smtp server)."""
    lead_id = make_lead(actor, email=f"{unique('ada')}@customer.example", phone=phone)
    sequence_id = three_step_sequence(actor)
    enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[lead_id])
    return sequence_id, lead_id


@pytest.mark.parametrize("way_out", ["bounce", "unsubscribe", "stop", "status", "by_hand"])
def test_each_way_out_cancels_the_queued_step(actor, way_out):
    phone = f"+4930{datetime.now().microsecond:06d}"
    sequence_id, lead_id = queued_step_two(actor, phone=phone)
    with SMTPServer() as smtp:
        advance.advance_due()
        first = send_all(actor, smtp)
        run_until_next_step(sequence_id, lead_id)
        enrolled = enrollment_of(sequence_id, lead_id)
        step_one, step_two = messages_of(enrolled.id)
        assert step_two.status == "queued"
        if way_out == "bounce":
            with UnitOfWork() as uow:
                apply_event(uow.session, ProviderEvent(provider="smtp", event_id=unique("ev"), status="bounced",
                                                       message_id=step_one.id, suppress_reason="bounced"))
                uow.commit()
        elif way_out == "unsubscribe":
            address = email.utils.parseaddr(first[0]["To"])[1]
            suppression.unsubscribe_by_link(workspace_id=actor.workspace_id, channel="email", address=address)
        elif way_out == "stop":
            with UnitOfWork() as uow:
                assert apply_inbound_sms(uow.session, from_number=phone, body="STOP") == "stop"
                uow.commit()
        elif way_out == "status":
            leads.set_status(actor=actor, lead_ids=[lead_id], status="meeting")
        else:
            enrolment.remove_from_sequence(actor=actor, enrollment_id=enrolled.id)
        after = send_all(actor, smtp)
    assert len(after) == 1
    left = enrollment_of(sequence_id, lead_id)
    expected = {"bounce": "bounced", "unsubscribe": "unsubscribed", "stop": "stop", "status": "status",
                "by_hand": "manual"}[way_out]
    assert (left.status, left.reason) == ("left", expected)
    assert messages_of(left.id)[1].status == "failed"


def test_a_status_set_straight_in_the_database_is_still_caught_by_the_claim(actor):
    """Leaving is re-checked where the step is claimed for sending, not only where it is recorded."""
    sequence_id, lead_id = queued_step_two(actor)
    with SMTPServer() as smtp:
        advance.advance_due()
        send_all(actor, smtp)
        run_until_next_step(sequence_id, lead_id)
        with UnitOfWork() as uow:
            uow.session.execute(update(Lead).where(Lead.id == lead_id).values(status="won"))
            uow.commit()
        assert len(send_all(actor, smtp)) == 1
    left = enrollment_of(sequence_id, lead_id)
    assert (left.status, left.reason) == ("left", "status")
    assert "won" in messages_of(left.id)[1].error


def test_the_delay_counts_working_days_over_a_weekend(actor):
    lead_id = make_lead(actor, email=f"{unique('ada')}@customer.example")
    configure_workspace(actor, send_weekdays=[0, 1, 2, 3, 4], timezone="Europe/Berlin")
    steps = [StepInput(channel="email", template_id=template(actor)),
             StepInput(channel="email", template_id=template(actor), delay_days=1)]
    sequence_id = sequences.save_sequence(actor=actor, name=unique("seq"), steps=steps)
    enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[lead_id])
    advance.advance_due()
    enrolled = enrollment_of(sequence_id, lead_id)
    friday_evening = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)  # a Friday, 18:30 in Berlin
    with UnitOfWork() as uow:  # step one went out on Friday (the provider's acceptance is what the delay counts from)
        uow.session.execute(update(Message).where(Message.enrollment_id == enrolled.id)
                            .values(status="sent", sent_at=friday_evening))
        uow.commit()
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert advance.advance_due(now=saturday).scheduled == 1
    due = enrollment_of(sequence_id, lead_id).next_due_at
    assert due == datetime(2026, 12, 6, 23, 0, tzinfo=UTC)  # Monday 00:00 in Berlin
    assert advance.advance_due(now=datetime(2026, 12, 6, 22, 59, tzinfo=UTC)).queued == 0
    assert advance.advance_due(now=due).queued == 1
    assert [m.status for m in messages_of(enrolled.id)] == ["sent", "queued"]


def test_pause_and_resume_a_sequence_and_one_contact(actor):
    sequence_id, lead_id = queued_step_two(actor)
    with SMTPServer() as smtp:
        sequences.set_sequence_status(actor=actor, sequence_id=sequence_id, status="paused")
        assert advance.advance_due().queued == 0
        sequences.set_sequence_status(actor=actor, sequence_id=sequence_id, status="active")
        assert advance.advance_due().queued == 1
        enrolled = enrollment_of(sequence_id, lead_id)
        enrolment.set_enrollment_status(actor=actor, enrollment_id=enrolled.id, status="paused")
        assert send_all(actor, smtp) == []  # the queued step waits while its contact is paused
        assert messages_of(enrolled.id)[0].status == "queued"
        assert not timing.any_due(workspace_id=actor.workspace_id)  # so no sending job runs every minute for it
        sequences.set_sequence_status(actor=actor, sequence_id=sequence_id, status="paused")
        enrolment.set_enrollment_status(actor=actor, enrollment_id=enrolled.id, status="active")
        assert not timing.any_due(workspace_id=actor.workspace_id)  # nor while its whole sequence is
        sequences.set_sequence_status(actor=actor, sequence_id=sequence_id, status="active")
        assert timing.any_due(workspace_id=actor.workspace_id)
        assert len(send_all(actor, smtp)) == 1
        sequences.set_sequence_status(actor=actor, sequence_id=sequence_id, status="paused")
        advance.advance_due()
        assert enrollment_of(sequence_id, lead_id).next_due_at is None  # nothing scheduled while paused
    assert enrollment_of(sequence_id, lead_id).status == "active"


def test_enrolment_names_who_is_skipped_and_why(actor):
    sms = template(actor, channel="sms", body="Hi {{ first_name }}")
    steps = [StepInput(channel="email", template_id=template(actor)),
             StepInput(channel="sms", template_id=sms, delay_days=1)]
    sequence_id = sequences.save_sequence(actor=actor, name=unique("seq"), steps=steps)
    other_id = sequences.save_sequence(actor=actor, name=unique("seq"),
                                       steps=[StepInput(channel="email", template_id=template(actor))])
    good = make_lead(actor, email=f"{unique('a')}@customer.example", phone="+493011112222")
    no_email = make_lead(actor, phone="+493011113333")
    no_consent = make_lead(actor, email=f"{unique('a')}@customer.example", phone="+493011114444", consent=False)
    suppressed_address = f"{unique('a')}@customer.example"
    suppressed = make_lead(actor, email=suppressed_address, phone="+493011115555")
    suppression.add_suppression(actor=actor, channel="email", address=suppressed_address)
    won = make_lead(actor, email=f"{unique('a')}@customer.example", phone="+493011116666")
    leads.set_status(actor=actor, lead_ids=[won], status="won")
    elsewhere = make_lead(actor, email=f"{unique('a')}@customer.example", phone="+493011117777")
    enrolment.enrol(actor=actor, sequence_id=other_id, lead_ids=[elsewhere])
    selection = [good, no_email, no_consent, suppressed, won, elsewhere, 987_654_321]
    preview = enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=selection, dry_run=True)
    assert preview.enrolled == (good,)
    assert dict(preview.skipped) == {
        no_email: "no usable email address",
        no_consent: "no SMS consent recorded",
        suppressed: "suppressed (manual)",
        won: "status is won",
        elsewhere: "already in another sequence",
        987_654_321: "not in this workspace",
    }
    assert enrolment.list_enrollments(actor=actor, sequence_id=sequence_id) == []  # a preview changes nothing
    done = enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=selection)
    assert done.enrolled == (good,)
    again = enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[good])
    assert again.skipped == ((good, "already in this sequence"),)
    assert [e.lead_id for e in enrolment.list_enrollments(actor=actor, sequence_id=sequence_id)] == [good]


def test_another_workspace_cannot_see_or_enrol_into_a_sequence(actor):
    sequence_id = three_step_sequence(actor)
    stranger = make_owner()
    with pytest.raises(NotFound):
        sequences.get_sequence_or_raise(actor=stranger, sequence_id=sequence_id)
    with pytest.raises(NotFound):
        enrolment.enrol(actor=stranger, sequence_id=sequence_id, lead_ids=[1])


def test_a_reply_between_the_claim_and_the_send_of_step_two_stops_it(actor):
    """Two contacts' step two are claimed in one batch; while the first one's provider call is held, the
    second contact replies: its step two never reaches the provider (the attempt's own check stops it)."""
    first_lead = make_lead(actor, email=f"{unique('a')}@customer.example")
    second_lead = make_lead(actor, email=f"{unique('b')}@customer.example")
    sequence_id = three_step_sequence(actor)
    enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[first_lead, second_lead])
    with ProviderServer() as providers:
        grid = settings_for(providers.url, provider="sendgrid")
        advance.advance_due()
        assert sender.send_queued(workspace_id=actor.workspace_id, settings=grid).sent == 2
        advance.advance_due()
        advance.advance_due(now=max(enrollment_of(sequence_id, lead).next_due_at for lead in (first_lead, second_lead)))
        second = enrollment_of(sequence_id, second_lead)
        step_one, step_two = messages_of(second.id)
        providers.received.clear()  # set by step one's sends
        providers.hold.set()
        results = []
        thread = threading.Thread(target=lambda: results.append(
            sender.send_queued(workspace_id=actor.workspace_id, settings=grid)))
        thread.start()
        try:
            assert providers.received.wait(60), "the sender never reached the provider"
            assert messages_of(second.id)[1].status == "sending"  # claimed before the reply
            original = EmailMessage()
            original["From"], original["To"] = "Sam Sender <sam@sender-co.de>", "ada@customer.example"
            original["Subject"] = step_one.subject
            original["Message-ID"] = f"<leadscout.{actor.workspace_id}.{step_one.id}@sender-co.de>"
            record_raw_mail(raw=reply_to(original, "Yes, let's talk."), source="imap", fallback_key="k4")
        finally:
            providers.hold.clear()
            providers.release.set()
            thread.join(60)
        called = Counter(int(c["json"]["personalizations"][0]["custom_args"]["leadscout_message_id"])
                         for c in providers.calls_to("sendgrid"))
    assert called[step_two.id] == 0 and called[step_one.id] == 1
    assert results[0].sent == 1 and results[0].suppressed == 1
    left = messages_of(second.id)[1]
    assert left.status == "failed" and "left the sequence" in left.error
    assert (enrollment_of(sequence_id, second_lead).reason, enrollment_of(sequence_id, first_lead).status) == (
        "replied", "active")


PITCH = {"text": "We help bakeries cut packaging waste.", "evidence_ids": [], "about_prospect": False,
         "new_paragraph": False}


def ai_answer(*sentences: dict, subject: str = "An AI subject") -> dict:
    return {"subject": subject, "sentences": list(sentences)}


@pytest.fixture
def llm():
    with FakeOpenAI() as server:
        client = OpenAILLM(api_key="sk-test", base_url=server.base_url, model="gpt-4o-mini", max_retries=1,
                           backoff_base_seconds=0.0, timeout_seconds=10, prices={"gpt-4o-mini": (0.15, 0.60)},
                           sleep=lambda _: None, rng=lambda: 0.0)
        yield server, client


def test_an_ai_draft_step_goes_threaded_and_a_flagged_one_waits_for_approval(actor, llm):
    server, client = llm
    clean = make_lead(actor, email=f"{unique('a')}@customer.example", name="Acme")
    flagged = make_lead(actor, email=f"{unique('b')}@customer.example", name="Bolt")
    steps = [StepInput(channel="email", template_id=template(actor)),
             StepInput(channel="email", use_ai=True, delay_days=1)]
    sequence_id = sequences.save_sequence(actor=actor, name=unique("seq"), steps=steps)
    enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[clean, flagged])
    invented = "Your bakery won the Berlin bread award."
    server.answer_for = lambda payload: ai_answer(
        {"text": invented, "evidence_ids": [], "about_prospect": True, "new_paragraph": False}
        if "Bolt" in json.dumps(payload) else PITCH)
    with SMTPServer() as smtp:
        advance.advance_due()
        first = {email.utils.parseaddr(m["To"])[1]: m for m in send_all(actor, smtp)}
        advance.advance_due()
        due = max(enrollment_of(sequence_id, lead).next_due_at for lead in (clean, flagged))
        summary = advance.advance_due(now=due, llm_factory=lambda: client)
        assert (summary.queued, summary.waiting_approval) == (1, 1)
        second = send_all(actor, smtp)[2:]
    assert len(second) == 1  # the flagged draft waits on the Outreach page
    [mail] = second
    original = first[email.utils.parseaddr(mail["To"])[1]]
    assert mail["Subject"] == "Re: " + original["Subject"] and mail["In-Reply-To"] == original["Message-ID"]
    assert PITCH["text"] in mail.get_payload(decode=True).decode()
    waiting = enrollment_of(sequence_id, flagged)
    [_, draft] = messages_of(waiting.id)
    assert (waiting.status, draft.status) == ("active", "draft") and "waits for approval" in waiting.detail
    assert draft.subject.startswith("Re: ") and draft.in_reply_to.startswith("<leadscout.")


def test_an_ai_step_without_a_model_ends_the_enrolment_with_the_reason(actor):
    lead_id = make_lead(actor, email=f"{unique('a')}@customer.example")
    sequence_id = sequences.save_sequence(actor=actor, name=unique("seq"),
                                          steps=[StepInput(channel="email", use_ai=True)])
    enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=[lead_id])
    assert advance.advance_due(llm_factory=lambda: None).left == 1
    left = enrollment_of(sequence_id, lead_id)
    assert (left.status, left.reason) == ("left", "not_sent") and "OpenAI key" in left.detail


def test_two_schedulers_and_two_senders_at_once_send_each_step_once(actor):
    """Issue 16: exactly once across steps with several workers — three schedulers advance the same due
    enrolments at once and two senders send at once; every contact gets step 1 once, then step 2 once."""
    leads_ids = [make_lead(actor, email=f"{unique('many')}@customer.example", name=f"Co {i}") for i in range(12)]
    sequence_id = three_step_sequence(actor)
    assert enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=leads_ids).enrolled == tuple(leads_ids)

    def at_once(target, count: int, **kwargs) -> None:
        threads = [threading.Thread(target=target, kwargs=kwargs) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    with SMTPServer() as smtp:
        at_once(advance.advance_due, 3)
        at_once(sender.send_queued, 2, workspace_id=actor.workspace_id, settings=settings_for(smtp_port=smtp.port))
        advance.advance_due()  # schedules step 2 for each
        due = max(enrollment_of(sequence_id, lead).next_due_at for lead in leads_ids)
        at_once(advance.advance_due, 3, now=due)
        at_once(sender.send_queued, 2, workspace_id=actor.workspace_id, settings=settings_for(smtp_port=smtp.port))
        received = [email.message_from_bytes(envelope.content) for envelope in smtp.envelopes]
    per_recipient = Counter((m["To"], m["Subject"].startswith("Re: ")) for m in received)
    assert len(received) == 24 and set(per_recipient.values()) == {1}
    for lead in leads_ids:
        steps = messages_of(enrollment_of(sequence_id, lead).id)
        assert [(m.step, m.status) for m in steps] == [(1, "sent"), (2, "sent")]


def test_a_scheduler_killed_mid_pass_leaves_no_step_unsent_and_none_twice(actor, tmp_path):
    """A scheduler process SIGKILLed at an arbitrary point of its pass, then a fresh pass: every contact's
    step 1 is queued exactly once and sent exactly once (nothing stuck between made and queued)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    leads_ids = [make_lead(actor, email=f"{unique('kill')}@customer.example", name=f"Kill {i}") for i in range(40)]
    sequence_id = three_step_sequence(actor)
    enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=leads_ids)
    script = "from core.sequences import advance\nprint('ready', flush=True)\nadvance.advance_due()\n"
    process = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ), stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill once the pass has made some steps, not necessarily all
        with UnitOfWork() as uow:
            made = uow.session.scalar(
                select(func.count()).select_from(Message).where(Message.workspace_id == actor.workspace_id)
            )
        if made or process.poll() is not None:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    advance.advance_due()  # the next pass
    with SMTPServer() as smtp:
        sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(smtp_port=smtp.port))
        received = [email.message_from_bytes(envelope.content) for envelope in smtp.envelopes]
    assert sorted(m["To"] for m in received) == sorted({m["To"] for m in received}) and len(received) == 40
    for lead in leads_ids:
        steps = messages_of(enrollment_of(sequence_id, lead).id)
        assert [(m.step, m.status) for m in steps] == [(1, "sent")]
