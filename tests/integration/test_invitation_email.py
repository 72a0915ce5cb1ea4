"""An invitation's signed link reaches the invited address by email (issue 19 item 5), through a real SMTP server
(aiosmtpd); with no email provider configured nothing is sent and the inviter passes the link on."""

from __future__ import annotations

import email
import time
from email import policy
from urllib.parse import parse_qs, urlsplit

import pytest

from core import background
from core.auth import service as auth
from core.auth import team
from core.background.runners import current_runner
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Job
from tests.conftest import unique
from tests.fixtures.outreach_servers import SMTPServer

PASSWORD = "a long enough password"


@pytest.fixture
def mail_settings(monkeypatch: pytest.MonkeyPatch):
    """Settings with SMTP pointed at a local aiosmtpd, and jobs run in this process."""
    with SMTPServer() as smtp:
        for name, value in {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_STARTTLS": "false",
            "OUTREACH_FROM_EMAIL": "team@seller.example",
            "PUBLIC_BASE_URL": "https://leadscout.example.test",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        runner = background.EmbeddedRunner(get_settings())
        token = current_runner.set(runner)
        try:
            yield smtp
        finally:
            current_runner.reset(token)
            runner.shutdown()
            monkeypatch.undo()
            get_settings.cache_clear()


class HeldRunner:
    """A runner whose queue nobody works (a deployment whose workers are busy or down)."""

    name = "held"

    def enqueue(self, job_id, kind):
        return None

    def cancel_queued(self, rq_id):
        return None


def _wait_for_mail(smtp: SMTPServer, count: int = 1, seconds: float = 20) -> list:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(smtp.envelopes) < count:
        time.sleep(0.05)
    return smtp.envelopes


def test_an_invitation_is_emailed_and_its_link_joins_the_workspace(owner, mail_settings):
    invited = f"{unique('hire')}@claim.example"
    assert team.invitations_are_emailed()
    team.add_member(actor=owner, email=invited, role="admin")
    [envelope] = _wait_for_mail(mail_settings)
    assert envelope.rcpt_tos == [invited]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["From"].addresses[0].addr_spec == "team@seller.example"
    assert owner.workspace_name in message["Subject"]
    assert "List-Unsubscribe" not in message  # a transactional mail, not outreach
    body = message.get_content()
    [link] = [word for word in body.split() if word.startswith("https://leadscout.example.test/?invite=")]
    token = parse_qs(urlsplit(link).query)["invite"][0]

    auth.sign_up(email=invited, password=PASSWORD, invite_token=token)
    signed = auth.sign_in(email=invited, password=PASSWORD)
    assert (owner.workspace_id, owner.workspace_name, "admin") in [tuple(w) for w in signed.workspaces]


def test_a_member_removed_before_the_mail_goes_gets_nothing(owner, mail_settings):
    """The job reads the invitation when it runs: a closed invitation is not mailed (its link would not work)."""
    invited = f"{unique('gone')}@claim.example"
    reset = current_runner.set(HeldRunner())  # the job waits in the queue
    try:
        user_id = team.add_member(actor=owner, email=invited)
    finally:
        current_runner.reset(reset)
    team.remove_member(actor=owner, user_id=user_id)
    with UnitOfWork() as uow:
        job = uow.session.query(Job).filter(Job.kind == "auth.email_invitation").order_by(Job.id.desc()).first()
        assert job is not None and job.workspace_id == owner.workspace_id
        invitation_id = job.args["invitation_id"]
    from core.auth.invitation_mail import NOT_SENT, send_invitation_email

    assert send_invitation_email(invitation_id) == NOT_SENT
    assert mail_settings.envelopes == []


def test_without_an_email_provider_nothing_is_sent_and_no_job_is_made(owner):
    get_settings.cache_clear()
    assert get_settings().outreach_email_provider in ("auto", "outbox") and not get_settings().smtp_enabled
    assert not team.invitations_are_emailed()
    with UnitOfWork() as uow:
        before = uow.session.query(Job).filter(Job.kind == "auth.email_invitation").count()
    team.add_member(actor=owner, email=f"{unique('quiet')}@claim.example")
    with UnitOfWork() as uow:
        assert uow.session.query(Job).filter(Job.kind == "auth.email_invitation").count() == before
    assert team.pending_invitations(actor=owner)  # the link is still there to pass on
