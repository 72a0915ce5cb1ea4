"""The Alembic migrations run up and down on this backend, match the models, and enforce the constraints."""

from __future__ import annotations

import secrets

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from core.config import get_settings
from core.db import UnitOfWork, migrate
from core.db.models import Base, Contact, Lead, Membership, Message, Suppression, User
from core.db.session import build_engine
from tests.conftest import make_owner


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


def test_upgrade_downgrade_upgrade(scratch_url):
    migrate.upgrade(scratch_url)
    engine = build_engine(scratch_url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
    migrate.downgrade(scratch_url)
    engine = build_engine(scratch_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(scratch_url)


def test_migrations_match_the_models(scratch_url):
    migrate.upgrade(scratch_url)
    engine = build_engine(scratch_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_runs_in_wal_with_foreign_keys():
    if not get_settings().is_sqlite:
        pytest.skip("SQLite-only pragmas")
    with UnitOfWork() as uow:
        assert uow.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert uow.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def _insert_twice(make) -> None:
    with UnitOfWork() as uow:
        uow.session.add(make())
        uow.commit()
    with UnitOfWork() as uow, pytest.raises(IntegrityError):
        uow.session.add(make())
        uow.commit()


def test_unique_constraints_hold():
    actor = make_owner()
    ws = actor.workspace_id
    _insert_twice(lambda: Lead(workspace_id=ws, domain="dup.example"))
    _insert_twice(lambda: Suppression(workspace_id=ws, channel="email", address="a@dup.example", reason="manual"))
    with UnitOfWork() as uow:
        user = User(email=f"{secrets.token_hex(4)}@dup.example")
        uow.session.add(user)
        uow.commit()
        user_id = user.id
    _insert_twice(lambda: Membership(workspace_id=ws, user_id=user_id, role="member"))
    _insert_twice(lambda: User(email=f"same-{ws}@dup.example"))
    with UnitOfWork() as uow:
        lead = Lead(workspace_id=ws, domain="contacts.example")
        uow.session.add(lead)
        uow.flush()
        contact = Contact(workspace_id=ws, lead_id=lead.id, kind="email", value="A@x.example", normalised_value="a@x.example")
        uow.session.add(contact)
        uow.commit()
        lead_id, contact_id = lead.id, contact.id
    _insert_twice(lambda: Message(workspace_id=ws, lead_id=lead_id, contact_id=contact_id, channel="email", step=1))
    with UnitOfWork() as uow, pytest.raises(IntegrityError):
        uow.session.add(Contact(workspace_id=ws, lead_id=lead_id, kind="email", value="a@X.example", normalised_value="a@x.example"))
        uow.commit()


def test_the_same_domain_may_exist_in_two_workspaces():
    first, second = make_owner(), make_owner()
    with UnitOfWork() as uow:
        uow.session.add_all([Lead(workspace_id=first.workspace_id, domain="shared.example"), Lead(workspace_id=second.workspace_id, domain="shared.example")])
        uow.commit()
    with UnitOfWork() as uow:
        owners = uow.session.scalars(select(Lead.workspace_id).where(Lead.domain == "shared.example")).all()
    assert {first.workspace_id, second.workspace_id} <= set(owners)


def test_foreign_keys_are_enforced():
    with UnitOfWork() as uow, pytest.raises(IntegrityError):
        uow.session.add(Lead(workspace_id=10**9, domain="orphan.example"))
        uow.commit()
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(Lead.id).where(Lead.domain == "orphan.example")) is None
