"""Lead ids are never reused after a delete or a merge (issue 18 item 16), and migration 0025 reads the city and
country of the leads that already exist from their address (item 13). Both backends."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import create_engine, select, text

from core.config import get_settings
from core.db import UnitOfWork, migrate
from core.db.models import AuditEvent, Contact, Job
from core.db.session import build_engine
from core.leads import merge, service
from tests.conftest import unique
from tests.fixtures.leads_data import make_lead


def test_a_deleted_leads_id_is_not_given_to_the_next_lead(owner):
    make_lead(owner, f"{unique('keep')}.com")
    doomed = make_lead(owner, f"{unique('gone')}.com", emails=(f"a@{unique('gone')}.com",))
    assert service.delete_leads(actor=owner, lead_ids=[doomed]) == 1
    newcomer = make_lead(owner, f"{unique('new')}.com")
    assert newcomer > doomed
    with UnitOfWork() as uow:  # the audit entry still names the deleted lead, and only it
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "lead.deleted",
                                                               AuditEvent.target_id == doomed))
        assert event.workspace_id == owner.workspace_id


def test_a_merged_leads_id_and_its_contacts_ids_are_not_reused(owner):
    label = unique("acme")
    keep = make_lead(owner, f"{label}.com", emails=(f"anna@{label}.com",))
    other = make_lead(owner, f"{label}.de", emails=(f"anna@{label}.com", f"info@{label}.de"))
    with UnitOfWork() as uow:
        highest_contact = uow.session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1))
    assert merge.merge_leads(actor=owner, keep_id=keep, merge_ids=[keep, other]) == 1  # drops the shared contact
    newcomer = make_lead(owner, f"{unique('next')}.com", emails=(f"bob@{unique('b')}.com",))
    assert newcomer > other
    with UnitOfWork() as uow:
        [contact_id] = uow.session.scalars(select(Contact.id).where(Contact.lead_id == newcomer))
    assert contact_id > highest_contact


def test_a_deleted_jobs_id_is_not_reused(owner):
    with UnitOfWork() as uow:
        job = Job(workspace_id=owner.workspace_id, kind="score_leads")
        uow.session.add(job)
        uow.commit()
        gone = job.id
        uow.session.delete(job)
        uow.commit()
        again = Job(workspace_id=owner.workspace_id, kind="score_leads")
        uow.session.add(again)
        uow.commit()
        assert again.id > gone


@pytest.fixture
def scratch_url(tmp_path):
    """An empty database of the same backend as the suite's."""
    url = get_settings().resolved_database_url
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"leadscout_scratch_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_LEAD = (
    "INSERT INTO lead (workspace_id, domain, name, website, summary, industry, location, country, opening_hours, "
    "tech, score_factors, status, tags, notes, source, created_at, updated_at) VALUES (:ws, :domain, '', '', '', "
    "'', :location, :country, '', '[]', '[]', 'new', '[]', '', 'search', '2026-01-01', '2026-01-01')"
)


def test_upgrade_reads_city_and_country_from_existing_addresses_and_keeps_ids_past_audited_ones(scratch_url):
    migrate.upgrade(scratch_url, "0021_contact_consent")
    engine = build_engine(scratch_url)
    with engine.begin() as conn:
        ws = conn.execute(text("INSERT INTO workspace (name, settings, created_at) VALUES ('w', '{}', '2026-01-01') "
                               "RETURNING id")).scalar()
        rows = [
            ("a.de", "Hauptstraße 5, 10115 Berlin, Germany", ""),
            ("b.fr", "12 Rue de la Paix, 75002 Paris", "FR"),
            ("c.co.uk", "221B Baker Street, London NW1 6XE", "GB"),
            ("d.com", "", ""),
            ("e.com", "Portland, OR 97201", "US"),
        ]
        for domain, location, country in rows:
            conn.execute(text(_LEAD), {"ws": ws, "domain": domain, "location": location, "country": country})
        ids = dict(conn.execute(text("SELECT domain, id FROM lead")).all())
        conn.execute(text("INSERT INTO contact (workspace_id, lead_id, kind, value, normalised_value, label, "
                          "person_name, person_title, is_role_address, verification, sms_consent_source, created_at) "
                          "VALUES (:ws, :lead, 'email', 'a@a.de', 'a@a.de', '', '', '', false, 'unknown', '', "
                          "'2026-01-01')"), {"ws": ws, "lead": ids["a.de"]})
        # a lead merged into a.de no longer exists; only the audit log remembers its id
        merged = max(ids.values()) + 4
        conn.execute(text("INSERT INTO audit_event (workspace_id, action, target_type, target_id, detail, created_at) "
                          f"VALUES (:ws, 'lead.merged', 'lead', :keep, '{{\"merged_id\": {merged}}}', '2026-01-01')"),
                     {"ws": ws, "keep": ids["a.de"]})
    engine.dispose()

    migrate.upgrade(scratch_url)
    engine = build_engine(scratch_url)
    with engine.begin() as conn:
        found = {d: (c, city) for d, c, city in conn.execute(text("SELECT domain, country, city FROM lead"))}
        assert found == {"a.de": ("DE", "Berlin"), "b.fr": ("FR", "Paris"), "c.co.uk": ("GB", "London"),
                         "d.com": ("", ""), "e.com": ("US", "Portland")}
        kept = conn.execute(text("SELECT count(*) FROM contact WHERE lead_id = :l"), {"l": ids["a.de"]}).scalar()
        assert kept == 1  # the rebuilt lead table cascaded nothing
        conn.execute(text(_LEAD), {"ws": ws, "domain": "f.com", "location": "", "country": ""})
        new_id = conn.execute(text("SELECT id FROM lead WHERE domain = 'f.com'")).scalar()
    engine.dispose()
    if scratch_url.startswith("sqlite"):
        assert new_id == merged + 1  # past the merged lead, which only the audit log names
    else:
        assert new_id > max(ids.values())
