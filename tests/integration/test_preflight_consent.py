"""Issue 18 items 9-10: preflight before a send, SMS consent with its source, the edit re-check, a test send."""

from __future__ import annotations

import email
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from core.db import UnitOfWork
from core.db.models import AuditEvent, Contact, Message
from core.errors import InvalidInput, NotFound
from core.leads import csv_import
from core.outreach import consent, draft_review, preflight, service
from tests.conftest import make_owner, unique
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for
from tests.fixtures.outreach_servers import SMTPServer

SMS_BODY = "Hello {{ first_name }}, a note about {{ company }}. Sam"


@pytest.fixture
def actor(owner):
    configure_workspace(owner)
    return owner


def phone_contact(lead_id: int) -> Contact:
    with UnitOfWork() as uow:
        contact = uow.session.scalars(select(Contact).where(Contact.lead_id == lead_id, Contact.kind == "phone")).one()
        uow.session.expunge(contact)
        return contact


def draft(actor, lead_id: int, *, channel: str = "email", body: str = "Hello {{ first_name }}, Sam") -> int:
    template_id = service.save_template(actor=actor, name=unique("tpl"), channel=channel,
                                        subject="Hi {{ first_name }}" if channel == "email" else "", body=body)
    [message_id] = service.create_drafts(actor=actor, template_id=template_id, lead_ids=[lead_id]).created
    return message_id


def test_a_ready_email_send_has_no_blocking_problem(actor):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('ok')}@example.test")])
    configure_workspace(actor, from_email="sam@leadscout-sender.de")  # the fixture's .test domain is a placeholder
    check = preflight.preflight(actor=actor, message_ids=ids, settings=settings_for(smtp_port=2525))
    assert [t.message_id for t in check.ready] == ids
    assert not [p for p in check.problems if p.blocking]


def test_no_postal_address_blocks_every_email(actor):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('np')}@example.test")])
    configure_workspace(actor, postal_address="")
    check = preflight.preflight(actor=actor, message_ids=ids, settings=settings_for(smtp_port=2525))
    assert check.ready == () and check.blocked_ids == frozenset(ids)
    assert any("postal address" in p.what and p.blocking and p.message_id is None for p in check.problems)


@pytest.mark.parametrize("sender", ["outreach@localhost", "sales@example.com", "me@shop.local"])
def test_a_placeholder_from_address_blocks_a_real_provider_but_not_the_outbox(actor, sender):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('pf')}@example.test")])
    configure_workspace(actor, from_email=sender)
    check = preflight.preflight(actor=actor, message_ids=ids, settings=settings_for(smtp_port=2525))
    assert check.blocked_ids == frozenset(ids)
    assert any(p.what.startswith("From address") and p.blocking for p in check.problems)
    outbox = preflight.preflight(actor=actor, message_ids=ids, settings=settings_for(provider="outbox"))
    assert outbox.blocked_ids == frozenset()
    assert any(p.what.startswith("From address") and not p.blocking for p in outbox.problems)


def test_sms_without_consent_is_blocked_until_consent_is_recorded_with_source_and_time(actor):
    lead = make_lead(actor, phone="+4915112345678", consent=False)
    ids = draft_and_queue(actor, [lead], channel="sms", body=SMS_BODY)
    check = preflight.preflight(actor=actor, message_ids=ids, settings=settings_for(provider="outbox"))
    [problem] = [p for p in check.problems if p.blocking]
    contact_id = phone_contact(lead).id
    assert (problem.message_id, problem.contact_id) == (ids[0], contact_id)
    assert "No SMS consent" in problem.what

    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    view = consent.record_sms_consent(actor=actor, contact_id=contact_id, given=True, source="  web form  ", at=when)
    assert view.source == "web form"
    stored = phone_contact(lead)
    assert stored.sms_consent_source == "web form"
    assert stored.sms_consent_at is not None and stored.sms_consent_at.replace(tzinfo=UTC) == when
    assert preflight.preflight(actor=actor, message_ids=ids, settings=settings_for(provider="outbox")).blocked_ids == frozenset()
    with UnitOfWork() as uow:
        actions = uow.session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == contact_id,
                                                                    AuditEvent.target_type == "contact")).all()
    assert "contact.sms_consent_recorded" in actions

    consent.record_sms_consent(actor=actor, contact_id=contact_id, given=False)
    stored = phone_contact(lead)
    assert (stored.sms_consent_at, stored.sms_consent_source) == (None, "")


@pytest.mark.parametrize("source", ["", "   ", "two\nlines", "x" * 201])
def test_consent_needs_a_plain_source(actor, source):
    contact_id = phone_contact(make_lead(actor, phone="+4915112345679", consent=False)).id
    with pytest.raises(InvalidInput):
        consent.record_sms_consent(actor=actor, contact_id=contact_id, given=True, source=source)
    assert phone_contact_by_id(contact_id).sms_consent_at is None


def phone_contact_by_id(contact_id: int) -> Contact:
    with UnitOfWork() as uow:
        contact = uow.session.get(Contact, contact_id)
        assert contact is not None
        uow.session.expunge(contact)
        return contact


def test_consent_of_another_workspace_is_not_found(actor):
    contact_id = phone_contact(make_lead(actor, phone="+4915112345670", consent=False)).id
    with pytest.raises(NotFound):
        consent.record_sms_consent(actor=make_owner(), contact_id=contact_id, given=True, source="web form")
    assert phone_contact_by_id(contact_id).sms_consent_at is None


def test_csv_import_reads_sms_consent_yes_no_and_blank(actor):
    tag = unique("c")
    data = ("company,website,phone,sms_consent,consent_source\n"
            f"Yes {tag},{tag}-y.com,+49 151 1000001,yes,signed order\n"
            f"Default {tag},{tag}-d.com,+49 151 1000002,yes,\n"
            f"No {tag},{tag}-n.com,+49 151 1000003,no,\n"
            f"Blank {tag},{tag}-b.com,+49 151 1000004,,\n"
            f"Bad {tag},{tag}-x.com,+49 151 1000005,perhaps,\n").encode()
    result = csv_import.import_csv(actor=actor, data=data, default_region="DE")
    assert result.imported == 4
    with UnitOfWork() as uow:
        rows = dict(uow.session.execute(
            select(Contact.normalised_value, Contact.sms_consent_source)
            .where(Contact.workspace_id == actor.workspace_id, Contact.kind == "phone",
                   Contact.normalised_value.in_(["+491511000001", "+491511000002", "+491511000003",
                                                 "+491511000004", "+491511000005"]))).all())
        given = set(uow.session.scalars(
            select(Contact.normalised_value).where(Contact.workspace_id == actor.workspace_id,
                                                   Contact.sms_consent_at.is_not(None),
                                                   Contact.normalised_value.in_(list(rows)))))
    assert rows == {"+491511000001": "signed order", "+491511000002": "CSV import", "+491511000003": "",
                    "+491511000004": ""}
    assert given == {"+491511000001", "+491511000002"}

    again = ("company,website,phone,sms_consent\n"
             f"Yes {tag},{tag}-y.com,+49 151 1000001,no\n"
             f"Blank {tag},{tag}-b.com,+49 151 1000004,\n").encode()
    csv_import.import_csv(actor=actor, data=again, default_region="DE", on_duplicate="update")
    with UnitOfWork() as uow:
        left = set(uow.session.scalars(
            select(Contact.normalised_value).where(Contact.workspace_id == actor.workspace_id,
                                                   Contact.sms_consent_at.is_not(None),
                                                   Contact.normalised_value.in_(list(rows)))))
    assert left == {"+491511000002"}


def flag(message_id: int, sentence: str) -> None:
    with UnitOfWork() as uow:
        uow.session.execute(update(Message).where(Message.id == message_id).values(
            flags=[{"sentence": sentence, "blocking": True, "reason": "no evidence"}]))
        uow.commit()


def test_rewrapping_a_flagged_sentence_keeps_the_flag_and_fixing_it_makes_the_draft_approvable(actor):
    message_id = draft(actor, make_lead(actor, email=f"{unique('ed')}@example.test"))
    claim = "Your bakery won the Berlin bread award in 2024."
    service.edit_draft(actor=actor, message_id=message_id, subject="Hi", body=f"Hello,\n\n{claim}\n\nSam")
    flag(message_id, claim)
    left = service.edit_draft(actor=actor, message_id=message_id, subject="Hi",
                              body="Hello,\n\nYour bakery won the Berlin\n  bread AWARD in 2024.\n\nSam")
    assert left == (claim,)
    assert service.approve(actor=actor, message_ids=[message_id])[0] == 0
    assert draft_review.preview_draft(actor=actor, message_id=message_id).approvable is False

    left = service.edit_draft(actor=actor, message_id=message_id, subject="Hi",
                              body="Hello,\n\nI saw your bakery in Berlin.\n\nSam")
    assert left == ()
    assert draft_review.preview_draft(actor=actor, message_id=message_id).approvable is True
    service.approve(actor=actor, message_ids=[message_id])
    with UnitOfWork() as uow:
        assert uow.session.get(Message, message_id).status == "approved"


def test_edit_refuses_an_empty_body_and_an_email_without_subject(actor):
    message_id = draft(actor, make_lead(actor, email=f"{unique('ee')}@example.test"))
    with pytest.raises(InvalidInput):
        service.edit_draft(actor=actor, message_id=message_id, subject="Hi", body="   ")
    with pytest.raises(InvalidInput):
        service.edit_draft(actor=actor, message_id=message_id, subject=" ", body="Hello")


def test_send_test_to_me_mails_the_signed_in_user_and_changes_no_message(actor):
    message_id = draft(actor, make_lead(actor, email=f"{unique('ts')}@example.test"))
    with UnitOfWork() as uow:
        before = uow.session.get(Message, message_id).status
    with SMTPServer() as smtp:
        sent = draft_review.send_test_to_me(actor=actor, message_id=message_id,
                                            settings=settings_for(smtp_port=smtp.port))
        envelopes = list(smtp.envelopes)
    assert sent.delivered and sent.to == actor.email
    [envelope] = envelopes
    assert envelope.rcpt_tos == [actor.email]
    parsed = email.message_from_bytes(envelope.content)
    assert parsed["Subject"].startswith("[Test] Hi")
    assert "LeadScout Ltd, 1 Test Street, Berlin" in parsed.get_payload(decode=True).decode()
    with UnitOfWork() as uow:
        assert uow.session.get(Message, message_id).status == before
    outbox = draft_review.send_test_to_me(actor=actor, message_id=message_id, settings=settings_for(provider="outbox"))
    assert outbox.delivered is False
