"""Duplicates are flagged; merge keeps every contact, evidence row and message; deletes are final."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import UnitOfWork
from core.db.models import AuditEvent, Contact, Evidence, Lead, Message
from core.leads import merge, service
from core.leads.csv_import import import_csv
from core.leads.repository import upsert_lead
from tests.conftest import unique
from tests.fixtures.leads_data import make_lead


def add_message(actor, lead_id: int, value: str, step: int = 1) -> int:
    with UnitOfWork() as uow:
        contact_id = uow.session.scalar(select(Contact.id).where(Contact.lead_id == lead_id, Contact.normalised_value == value))
        message = Message(workspace_id=actor.workspace_id, lead_id=lead_id, contact_id=contact_id, channel="email",
                          step=step, subject="Hello", body="Hi", status="sent")
        uow.session.add(message)
        uow.commit()
        return message.id


def rows_of(model, lead_id):
    with UnitOfWork() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(model.lead_id == lead_id))


def test_duplicates_are_flagged_and_merge_keeps_everything(owner):
    label = unique("acme")
    shared = f"sales@{label}.com"
    keep = make_lead(owner, f"{label}.com", name="Acme", emails=(shared, f"anna@{label}.com"),
                     facts=(("industry", "Bakery", "we bake"),), tags=["a"])
    other = make_lead(owner, f"{label}.de", name="Acme GmbH", emails=(shared, f"info@{label}.de"), phones=("+4930123456",),
                      facts=(("address", "Berlin", "Sitz in Berlin"),), tags=["b"], summary="German arm")
    third = make_lead(owner, f"{unique('z')}.com", emails=(shared,))
    m1 = add_message(owner, keep, shared)
    m2 = add_message(owner, other, shared)  # same address, same step: must survive the merge
    m3 = add_message(owner, other, f"info@{label}.de")
    groups = merge.find_duplicates(actor=owner)
    assert any(g.reason == "domain" and set(g.lead_ids) == {keep, other} for g in groups)
    assert any(g.reason == "email" and g.key == shared and set(g.lead_ids) == {keep, other, third} for g in groups)

    evidence_before = rows_of(Evidence, keep) + rows_of(Evidence, other)
    with UnitOfWork() as uow:
        values_before = set(uow.session.scalars(select(Contact.normalised_value).where(Contact.lead_id.in_([keep, other]))))
    assert merge.merge_leads(actor=owner, keep_id=keep, merge_ids=[keep, other]) == 1
    with UnitOfWork() as uow:
        s = uow.session
        assert s.get(Lead, other) is None
        kept = s.get(Lead, keep)
        assert kept.summary == "German arm" and kept.tags == ["a", "b"]
        assert set(s.scalars(select(Contact.normalised_value).where(Contact.lead_id == keep))) == values_before
        moved = s.execute(select(Message.id, Message.lead_id, Message.step).where(Message.id.in_([m1, m2, m3]))).all()
        assert {(i, lead_id) for i, lead_id, _s in moved} == {(m1, keep), (m2, keep), (m3, keep)}
        assert len({step for i, _l, step in moved if i in (m1, m2)}) == 2
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "lead.merged", AuditEvent.target_id == keep))
        assert event.detail["merged_id"] == other and event.detail["messages"] == 2
    assert rows_of(Evidence, keep) == evidence_before
    # the merged domain is this company now: a crawl or import does not bring the old lead back
    with UnitOfWork() as uow:
        assert upsert_lead(uow, workspace_id=owner.workspace_id, domain=f"{label}.de", website="https://x") == (None, False)


def test_delete_is_audited_and_goes_to_the_trash(owner):
    domain = f"{unique('del')}.com"
    lead_id = make_lead(owner, domain, emails=(f"a@{domain}",))
    assert service.delete_leads(actor=owner, lead_ids=[lead_id]) == 1
    with UnitOfWork() as uow:
        trashed = uow.session.get(Lead, lead_id)
        assert trashed is not None and trashed.deleted_at is not None and trashed.deleted_by == owner.user_id
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "lead.deleted", AuditEvent.target_id == lead_id))
        assert event.detail == {"domain": domain} and event.user_id == owner.user_id
        assert upsert_lead(uow, workspace_id=owner.workspace_id, domain=domain, website=f"https://{domain}") == (None, False)
    result = import_csv(actor=owner, data=f"website,email\n{domain},b@{domain}\n".encode())
    assert (result.imported, result.skipped) == (0, 1)
