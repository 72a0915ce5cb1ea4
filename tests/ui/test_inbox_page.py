"""The Inbox page: replies by lead, class and actions keyed by the reply's id, the list re-read after each."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from core.db import UnitOfWork
from core.db.models import Lead, Message
from core.replies.service import record_raw_mail
from tests.conftest import make_owner, unique
from tests.fixtures.held_queue import hold_every_job
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead


def sent_message(owner, address: str) -> tuple[int, int]:
    lead_id = make_lead(owner, email=address, name=unique("Roastery"))
    (message_id,) = draft_and_queue(owner, [lead_id])
    with UnitOfWork() as uow:
        message = uow.session.get(Message, message_id)
        message.status, message.provider = "sent", "smtp"
        uow.commit()
    return lead_id, message_id


def answer(owner, message_id: int, address: str, text: str) -> int:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = address, "sam@sender.example.test", "Re: Hello"
    mail["Message-ID"] = f"<{unique('r')}@customer.example>"
    mail["In-Reply-To"] = f"<leadscout.{owner.workspace_id}.{message_id}@sender.example.test>"
    mail.set_content(text)
    recorded = record_raw_mail(raw=mail.as_bytes(), source="file", fallback_key=unique("k"))
    assert recorded is not None
    return recorded.id


def page(owner) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "inbox.py"), default_timeout=30)
    at.session_state["actor"] = owner
    return at.run()


def lead_status(lead_id: int) -> str:
    with UnitOfWork() as uow:
        return uow.session.get(Lead, lead_id).status


def test_actions_hit_the_reply_they_sit_under_even_after_a_new_reply_moves_the_list(owner):
    configure_workspace(owner)
    first_address, second_address = f"{unique('ada')}@customer.example", f"{unique('bob')}@customer.example"
    first_lead, first_message = sent_message(owner, first_address)
    second_lead, second_message = sent_message(owner, second_address)
    first_reply = answer(owner, first_message, first_address, "Sounds good, let's talk.")
    at = page(owner)
    assert not at.exception, at.exception
    assert len(at.expander) == 1 and first_address in at.expander[0].label
    # a second reply arrives and is listed above the first one; the button under Ada's reply stays hers
    answer(owner, second_message, second_address, "Who are you?")
    at.button(key=f"inbox_meeting_{first_reply}").click().run()
    assert not at.exception, at.exception
    assert lead_status(first_lead) == "meeting" and lead_status(second_lead) == "replied"
    # handled replies leave the default view, which is re-read after the action
    labels = [expander.label for expander in at.expander]
    assert len(labels) == 1 and second_address in labels[0]


def test_changing_the_class_to_unsubscribe_suppresses_and_says_so(owner):
    configure_workspace(owner)
    address = f"{unique('cy')}@customer.example"
    lead_id, message_id = sent_message(owner, address)
    reply_id = answer(owner, message_id, address, "Who gave you my address?")
    at = page(owner)
    assert at.selectbox(key=f"inbox_label_{reply_id}").value == "other"
    at.selectbox(key=f"inbox_label_{reply_id}").set_value("unsubscribe").run()
    assert not at.exception, at.exception
    assert lead_status(lead_id) == "do_not_contact"
    assert any("marked unsubscribe request" in toast.value for toast in at.toast)


def test_read_now_without_a_mailbox_says_what_to_set(owner):
    at = page(owner)
    at.button(key="inbox_read_now").click().run()
    assert "Set IMAP_HOST" in at.error[0].value


def answered_on_the_page(owner, monkeypatch, address: str, text: str) -> tuple[AppTest, int, int, int]:
    """A reply from ``address`` answered with ``text`` on the page: (page, lead id, first message id, reply id)."""
    configure_workspace(owner)
    lead_id, message_id = sent_message(owner, address)
    reply_id = answer(owner, message_id, address, "What does it cost?")
    at = page(owner)
    at.toggle(key=f"inbox_write_{reply_id}").set_value(True).run()
    at.text_area(key=f"inbox_answer_text_{reply_id}").input(text)
    hold_every_job(monkeypatch)  # the send job is recorded and stays queued; no SMTP server is needed here
    at.button(key=f"inbox_send_answer_{reply_id}").click().run()
    return at, lead_id, message_id, reply_id


def test_an_answer_written_on_the_page_goes_to_the_outbox_once_in_the_thread(owner, monkeypatch):
    address = f"{unique('di')}@customer.example"
    at, lead_id, message_id, reply_id = answered_on_the_page(owner, monkeypatch, address, "49 EUR a month.")
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    confirmed = f"Answer to {address} being sent"
    assert any(confirmed in note.value for note in at.success), [n.value for n in at.success]
    with UnitOfWork() as uow:
        (row,) = uow.session.scalars(select(Message).where(Message.lead_id == lead_id, Message.id != message_id))
        assert (row.body, row.status, row.subject, row.step) == ("49 EUR a month.", "queued", "Re: Hello", 2)
        answer_id = row.id
    at.toggle(key="inbox_open_only").set_value(False).run()  # answered means dealt with: shown with the rest
    assert any(f"Answered from LeadScout: message {answer_id}, being sent" in c.value for c in at.caption)
    # the confirmation is not a toast: it stays over later runs, with the answer's current state
    assert any(f"{confirmed} (message {answer_id})" in note.value for note in at.success)
    at.button(key=f"inbox_answered_dismiss_{reply_id}").click().run()
    assert not any(confirmed in note.value for note in at.success)


def test_the_answer_confirmation_stays_with_its_workspace(owner, monkeypatch):
    """The confirmation lives in the session; after a switch to another workspace it is not looked up there
    (where the reply does not exist, so the page would say so on every run)."""
    address = f"{unique('ws')}@customer.example"
    at, *_ = answered_on_the_page(owner, monkeypatch, address, "Gladly: ...")
    assert any(f"Answer to {address}" in note.value for note in at.success)
    at.session_state["actor"] = make_owner()  # what the sidebar's workspace switch does to the session
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert not at.success, [n.value for n in at.success]
    at.session_state["actor"] = owner  # and back: it shows again
    at.run()
    assert any(f"Answer to {address}" in note.value for note in at.success)
