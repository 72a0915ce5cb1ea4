"""``python -m core`` as a user runs it: JSON on stdout, errors on stderr with a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from core.config import PROJECT_ROOT
from tests.conftest import unique


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120
    )


def test_migrate_create_user_and_jobs():
    assert run_cli("migrate").returncode == 0
    workspace = unique("CLI team")
    email = f"{unique('cli')}@example.test"
    created = run_cli("create-user", "--email", email, "--password", "a long password", "--workspace", workspace)
    assert created.returncode == 0, created.stderr
    ids = json.loads(created.stdout)
    assert ids["created_user"] and ids["created_workspace"] and ids["role"] == "owner"

    again = json.loads(run_cli("create-user", "--email", email, "--password", "another long one", "--workspace", workspace).stdout)
    assert (again["user_id"], again["workspace_id"], again["created_user"]) == (ids["user_id"], ids["workspace_id"], False)

    from core.auth import service as auth

    assert auth.sign_in(email=email, password="another long one").workspaces[0][0] == ids["workspace_id"]
    listed = run_cli("jobs", "--workspace", workspace)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_errors_go_to_stderr_with_a_non_zero_exit():
    bad = run_cli("create-user", "--email", "not-an-email", "--password", "a long password", "--workspace", "x")
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert "is not an email address" in bad.stderr
    missing = run_cli("jobs", "--workspace", unique("nobody"))
    assert missing.returncode == 1 and "No workspace is called" in missing.stderr


def test_send_approved_queues_through_the_service_with_a_history_row_then_sends(owner):
    from sqlalchemy import select

    from core.db import UnitOfWork
    from core.db.models import Message, MessageEvent
    from core.outreach import service
    from tests.fixtures.outreach_data import configure_workspace, make_lead

    configure_workspace(owner)
    lead = make_lead(owner, email=f"{unique('cli')}@example.test")
    template = service.save_template(actor=owner, name=unique("tpl"), channel="email", subject="Hi", body="Hello {{ company }}")
    [message_id] = service.create_drafts(actor=owner, template_id=template, lead_ids=[lead]).created
    service.approve(actor=owner, message_ids=[message_id])

    sent = run_cli("send-approved", "--queue-approved", "--workspace-id", str(owner.workspace_id))
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["sent"] == 1
    with UnitOfWork() as uow:
        history = uow.session.execute(
            select(MessageEvent.status, MessageEvent.detail).where(MessageEvent.message_id == message_id).order_by(MessageEvent.id)
        ).all()
        assert uow.session.get(Message, message_id).status == "sent"
    assert ("queued", "queued by the command line") in [tuple(row) for row in history]
