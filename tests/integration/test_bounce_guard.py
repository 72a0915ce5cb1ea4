"""The bounce guard (issue 16 §3): a sender pauses itself on hard bounces or complaints; resuming is deliberate.

Emails go to a local SendGrid-speaking server through the SDK; bounces and complaints arrive as
provider events applied by ``events.apply_event`` (what the signed webhooks call).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.auth import team
from core.db import UnitOfWork
from core.db.models import AuditEvent, Message
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.monitoring.alerts import find_problems
from core.outreach import guard, sender
from core.outreach.events import apply_event
from core.outreach.models import ProviderEvent
from tests.conftest import make_owner, unique
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for
from tests.fixtures.outreach_servers import ProviderServer


@pytest.fixture
def providers():
    with ProviderServer() as server:
        yield server


def send_to(actor, providers, count: int) -> list[int]:
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('b')}@example.test") for _ in range(count)])
    sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(providers.url, provider="sendgrid"))
    return ids


def event(message_id: int, kind: str, event_id: str | None = None) -> bool:
    status, reason = {"bounce": ("bounced", "bounced"), "complaint": ("", "complaint")}[kind]
    with UnitOfWork() as uow:
        applied = apply_event(
            uow.session,
            ProviderEvent(
                provider="sendgrid",
                event_id=event_id or unique("sg"),
                status=status,
                message_id=message_id,
                suppress_reason=reason,
                detail=f"sendgrid: {kind}",
            ),
        )
        uow.commit()
    return applied


def paused(actor) -> list[guard.PausedSender]:
    return guard.list_paused_senders(actor=actor)


def test_more_than_3_percent_hard_bounces_pause_the_sender_until_an_admin_resumes(owner, providers):
    configure_workspace(owner)
    sent = send_to(owner, providers, 10)
    for message_id in sent[:3]:
        event(message_id, "bounce")
    assert paused(owner) == []  # 3 of the last 100: at the limit, not over it
    event(sent[3], "bounce")
    [pause] = paused(owner)
    assert (pause.channel, pause.provider) == ("email", "sendgrid")
    assert "4 of its last 100 emails hard-bounced" in pause.reason and "paused" in pause.message

    # queued mail stays queued; nothing reaches the provider
    calls_before = len(providers.calls_to("sendgrid"))
    waiting = draft_and_queue(owner, [make_lead(owner, email=f"{unique('w')}@example.test") for _ in range(3)])
    summary = sender.send_queued(
        workspace_id=owner.workspace_id, settings=settings_for(providers.url, provider="sendgrid")
    )
    assert (summary.sent, summary.paused) == (0, 3)
    assert len(providers.calls_to("sendgrid")) == calls_before
    with UnitOfWork() as uow:
        assert set(uow.session.scalars(select(Message.status).where(Message.id.in_(waiting)))) == {"queued"}

    # core check raises it
    problems = [p for p in find_problems() if p.check == "bounce_guard"]
    assert any(f"Workspace {owner.workspace_id}:" in p.detail and "hard-bounced" in p.detail for p in problems)

    # more bounces do not "resume" it; a member cannot resume it; the owner can, and it is audited
    event(sent[4], "bounce")
    member_email = f"{unique('m')}@example.test"
    team.add_member(actor=owner, email=member_email, role="member")
    member = make_member(owner, member_email)
    with pytest.raises(PermissionDenied):
        guard.resume_sender(actor=member, pause_id=pause.id)
    with pytest.raises(NotFound):
        guard.resume_sender(actor=make_owner(), pause_id=pause.id)
    guard.resume_sender(actor=owner, pause_id=pause.id)
    with pytest.raises(InvalidInput):
        guard.resume_sender(actor=owner, pause_id=pause.id)
    assert paused(owner) == []
    with UnitOfWork() as uow:
        actions = list(
            uow.session.scalars(
                select(AuditEvent.action).where(AuditEvent.workspace_id == owner.workspace_id).order_by(AuditEvent.id)
            )
        )
    assert actions.count("outreach.sender_paused") == 1 and actions[-1] == "outreach.sender_resumed"

    summary = sender.send_queued(
        workspace_id=owner.workspace_id, settings=settings_for(providers.url, provider="sendgrid")
    )
    assert (summary.sent, summary.paused) == (3, 0)
    # a fresh window: the five old bounces no longer count, a new one alone does not pause
    event(waiting[0], "bounce")
    assert paused(owner) == []


def make_member(owner, email: str):
    from core.auth import service as auth
    from tests.conftest import invitation_token

    token = invitation_token(owner, email)
    auth.sign_up(email=email, password="correct horse battery", invite_token=token)
    signed = auth.sign_in(email=email, password="correct horse battery")
    return auth.actor_for(user_id=signed.user_id, workspace_id=owner.workspace_id)


def test_more_than_0_1_percent_complaints_pause_the_sender(owner, providers):
    configure_workspace(owner)
    sent = send_to(owner, providers, 5)
    assert event(sent[0], "complaint", event_id="sg-complaint-1")
    assert not event(sent[0], "complaint", event_id="sg-complaint-1")  # a replayed event counts once
    assert paused(owner) == []  # 1 of the last 1,000: at the limit
    event(sent[1], "complaint")
    [pause] = paused(owner)
    assert "2 of its last 1,000 emails drew a spam complaint" in pause.reason


def test_one_workspace_pausing_leaves_another_sending(owner, providers):
    configure_workspace(owner)
    other = make_owner()
    configure_workspace(other)
    sent = send_to(owner, providers, 4)
    for message_id in sent:
        event(message_id, "bounce")
    assert len(paused(owner)) == 1 and paused(other) == []
    assert len(send_to(other, providers, 2)) == 2
    assert len([c for c in providers.calls_to("sendgrid")]) == 6
