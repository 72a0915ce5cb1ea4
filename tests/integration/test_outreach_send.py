"""The outbox end to end: real SMTP server, local SendGrid/Mailgun/Twilio servers, exactly once."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.config import PROJECT_ROOT
from core.db import UnitOfWork
from core.db.models import Lead, Message, MessageEvent, utcnow
from core.errors import NotFound
from core.outreach import attempts, message_log, sender, service, suppression
from core.outreach.events import apply_event
from core.outreach.models import ProviderEvent
from tests.conftest import unique
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for
from tests.fixtures.outreach_servers import ProviderServer, SMTPServer


def statuses(ids):
    with UnitOfWork() as uow:
        rows = uow.session.execute(select(Message.id, Message.status).where(Message.id.in_(ids))).all()
        return {i: s for i, s in rows}


@pytest.fixture
def actor(owner):
    configure_workspace(owner)
    return owner


@pytest.fixture
def providers():
    with ProviderServer() as server:
        yield server


def test_smtp_server_receives_exactly_the_messages_with_headers(actor):
    leads = [make_lead(actor, email=f"{unique('ada')}@example.test") for _ in range(3)]
    ids = draft_and_queue(actor, leads)
    with SMTPServer() as smtp:
        summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(smtp_port=smtp.port))
        again = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(smtp_port=smtp.port))
        envelopes = list(smtp.envelopes)
    assert (summary.sent, again.sent) == (3, 0)
    assert len(envelopes) == 3
    for envelope in envelopes:
        parsed = email.message_from_bytes(envelope.content)
        assert parsed["List-Unsubscribe"].startswith("<https://leadscout.example.test/unsubscribe?t=")
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert parsed["From"] == "Sam Sender <sam@sender-co.de>"
        assert parsed["Subject"].startswith("Hi Ada at ")
        assert parsed["Message-ID"].startswith(f"<leadscout.{actor.workspace_id}.")
        body = parsed.get_payload(decode=True).decode()
        assert "LeadScout Ltd, 1 Test Street, Berlin" in body and "Unsubscribe: https://" in body
    assert set(statuses(ids).values()) == {"sent"}
    with UnitOfWork() as uow:
        assert set(uow.session.scalars(select(Lead.status).where(Lead.id.in_(leads)))) == {"contacted"}
    history = [e.status for e in message_log.message_history(actor=actor, message_id=ids[0])]
    assert history == ["approved", "queued", "sending", "sent"]


def test_sendgrid_through_the_sdk_with_our_id_in_custom_args(actor, providers):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('sg')}@example.test")])
    summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(providers.url, provider="sendgrid"))
    assert summary.sent == 1
    [call] = providers.calls_to("sendgrid")
    assert call["auth"] == "Bearer SG.test"
    assert call["json"]["personalizations"][0]["custom_args"] == {"leadscout_message_id": str(ids[0])}
    assert call["json"]["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # our Message-ID, not one SendGrid makes up: a reply's In-Reply-To names it and is matched by it
    assert call["json"]["headers"]["Message-ID"] == f"<leadscout.{actor.workspace_id}.{ids[0]}@sender-co.de>"
    with UnitOfWork() as uow:
        assert uow.session.get(Message, ids[0]).provider_message_id == call["provider_id"]


def test_mailgun_over_httpx_with_our_id_as_a_variable(actor, providers):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('mg')}@example.test")])
    summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(providers.url, provider="mailgun"))
    assert summary.sent == 1
    [call] = providers.calls_to("mailgun")
    assert call["form"]["v:leadscout_message_id"] == str(ids[0])
    assert call["form"]["h:List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with UnitOfWork() as uow:
        assert uow.session.get(Message, ids[0]).provider_message_id == call["provider_id"]


def test_twilio_sdk_with_status_callback_and_consent(actor, providers):
    phone = "+4915112345678"
    with_consent = make_lead(actor, phone=phone)
    without = make_lead(actor, phone="+4915187654321", consent=False)
    ids = draft_and_queue(actor, [with_consent, without], channel="sms", body="Hi {{ first_name }}, {{ company }} here.")
    summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(providers.url))
    assert (summary.sent, summary.suppressed) == (1, 1)
    [call] = providers.calls_to("twilio")
    assert call["form"]["To"] == phone and call["form"]["From"] == "+15005550006"
    assert call["form"]["StatusCallback"] == f"https://leadscout.example.test/hooks/twilio?m={ids[0]}"
    assert statuses(ids) == {ids[0]: "sent", ids[1]: "failed"}


def test_twilio_error_21610_adds_a_stop_suppression(actor, providers):
    phone = "+4915100000021"
    providers.twilio_stopped.add(phone)
    ids = draft_and_queue(actor, [make_lead(actor, phone=phone)], channel="sms", body="Hi {{ company }}")
    summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(providers.url))
    assert summary.failed == 1
    with UnitOfWork() as uow:
        message = uow.session.get(Message, ids[0])
        assert "21610" in message.error
        assert suppression.is_suppressed(uow.session, workspace_id=actor.workspace_id, channel="sms", address=phone) == "stop"


def test_429_and_5xx_are_retried_and_permanent_errors_keep_the_reason(actor, providers):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('r')}@example.test") for _ in range(2)])
    providers.fail_next.extend([429, 503])
    settings = settings_for(providers.url, provider="sendgrid")
    assert sender.send_queued(workspace_id=actor.workspace_id, settings=settings, limit=1).sent == 1
    providers.fail_next.append(400)
    assert sender.send_queued(workspace_id=actor.workspace_id, settings=settings).failed == 1
    with UnitOfWork() as uow:
        assert uow.session.get(Message, ids[1]).error == "SendGrid 400: injected 400"
    assert len(providers.calls_to("sendgrid")) == 1


@pytest.mark.parametrize("provider", ["mailgun", "sendgrid"])
def test_a_429_whose_retry_after_is_an_http_date_is_retried(actor, providers, provider):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('d')}@example.test")])
    providers.fail_retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"  # RFC 9110 allows a date; this one has passed
    providers.fail_next.append(429)
    summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(providers.url, provider=provider))
    assert (summary.sent, summary.failed, summary.unknown) == (1, 0, 0)
    assert statuses(ids) == {ids[0]: "sent"}


def test_unsubscribed_while_queued_is_not_sent(actor):
    address = f"{unique('u')}@example.test"
    ids = draft_and_queue(actor, [make_lead(actor, email=address)])
    suppression.add_suppression(actor=actor, channel="email", address=address.upper(), reason="unsubscribed")
    with SMTPServer() as smtp:
        summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(smtp_port=smtp.port))
        assert smtp.envelopes == []
    assert summary.suppressed == 1
    with UnitOfWork() as uow:
        assert "suppressed (unsubscribed)" in uow.session.get(Message, ids[0]).error


def test_outside_the_sending_window_waits_in_the_queue(actor, providers):
    configure_workspace(actor, send_window=[0, 24], send_weekdays=[])
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('w')}@example.test")])
    summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(providers.url, provider="sendgrid"))
    assert (summary.sent, summary.waiting) == (0, 1)
    assert statuses(ids) == {ids[0]: "queued"}


def test_daily_cap_holds_the_rest(actor, providers):
    configure_workspace(actor, daily_caps={"email": 2})
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('c')}@example.test") for _ in range(3)])
    summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(providers.url, provider="sendgrid"))
    assert (summary.sent, summary.capped) == (2, 1)
    assert sorted(statuses(ids).values()) == ["queued", "sent", "sent"]


def test_double_submit_gives_one_provider_call(actor, providers):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('d')}@example.test")])
    assert service.queue_for_sending(actor=actor, message_ids=ids) == 0  # the second click queues nothing
    settings = settings_for(providers.url, provider="sendgrid")
    first = sender.send_queued(workspace_id=actor.workspace_id, settings=settings)
    second = sender.send_queued(workspace_id=actor.workspace_id, settings=settings)
    assert (first.sent, second.sent) == (1, 0)
    assert len(providers.calls_to("sendgrid")) == 1
    print(f"\nexactly-once double submit: provider calls={len(providers.calls_to('sendgrid'))} status={statuses(ids)}")


def test_two_concurrent_senders_give_one_provider_call_per_message(actor, providers):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('p')}@example.test") for _ in range(30)])
    settings = settings_for(providers.url, provider="sendgrid")
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        sender.send_queued(workspace_id=actor.workspace_id, settings=settings))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    calls = providers.calls_to("sendgrid")
    sent_ids = sorted(int(c["json"]["personalizations"][0]["custom_args"]["leadscout_message_id"]) for c in calls)
    assert sent_ids == sorted(ids)
    assert sum(r.sent for r in results) == 30
    print(f"\nexactly-once two senders ({UnitOfWork().__enter__().session.get_bind().dialect.name}): "
          f"messages=30 provider calls={len(calls)} per sender={[r.sent for r in results]}")


SENDER_SCRIPT = """
import sys
from core.outreach import sender
from tests.fixtures.outreach_data import settings_for
sender.send_queued(workspace_id=int(sys.argv[1]), settings=settings_for(sys.argv[2], provider="sendgrid"))
"""


def test_sender_killed_after_provider_accepted_ends_unknown_then_reconciled(actor, providers):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('k')}@example.test")])
    providers.hold.set()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.Popen([sys.executable, "-c", SENDER_SCRIPT, str(actor.workspace_id), providers.url],
                             cwd=PROJECT_ROOT, env=env)
    try:
        assert providers.received.wait(60), "the sender never reached the provider"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        providers.hold.clear()
        providers.release.set()
    assert statuses(ids) == {ids[0]: "sending"}
    assert attempts.settle_abandoned_claims(older_than_seconds=0) >= 1
    assert statuses(ids) == {ids[0]: "unknown"}
    again = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(providers.url, provider="sendgrid"))
    assert again.sent == 0 and len(providers.calls_to("sendgrid")) == 1  # never sent blindly again
    [call] = providers.calls_to("sendgrid")
    with UnitOfWork() as uow:
        assert apply_event(uow.session, ProviderEvent(
            provider="sendgrid", event_id=f"sendgrid:{unique('ev')}", status="delivered", message_id=ids[0],
            provider_message_id=call["provider_id"] + ".filter0001"))
        uow.commit()
    with UnitOfWork() as uow:
        message = uow.session.get(Message, ids[0])
        assert (message.status, message.provider_message_id) == ("delivered", call["provider_id"] + ".filter0001")
        history = list(uow.session.scalars(select(MessageEvent.status).where(MessageEvent.message_id == ids[0])
                                           .order_by(MessageEvent.id)))
    assert history == ["approved", "queued", "sending", "unknown", "delivered"]
    print(f"\nexactly-once SIGKILL: provider calls=1 history={history}")


def test_outbox_default_records_and_exports_eml(actor):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('o')}@example.test")])
    summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(provider="outbox"))
    assert summary.sent == 1
    with UnitOfWork() as uow:
        message = uow.session.get(Message, ids[0])
        assert (message.provider, message.provider_message_id) == ("outbox", f"outbox-{ids[0]}")
        assert uow.session.get(Lead, message.lead_id).status == "contacted"  # recorded in the outbox counts (issue 18 item 11)
    eml = email.message_from_bytes(message_log.export_eml(actor=actor, message_id=ids[0]))
    assert eml["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_workspaces_are_isolated(actor):
    from tests.conftest import make_owner

    other = make_owner()
    lead = make_lead(actor, email=f"{unique('i')}@example.test")
    ids = draft_and_queue(actor, [lead])
    assert message_log.list_messages(actor=other) == []
    with pytest.raises(NotFound):
        message_log.export_eml(actor=other, message_id=ids[0])
    assert service.approve(actor=other, message_ids=ids) == (0, [])


class StopsOnSecondSend:
    """A channel that accepts one message, then the process is told to exit mid-call."""

    name = "smtp"

    def __init__(self) -> None:
        self.calls = 0

    def send(self, message):
        from core.outreach.models import SendResult

        self.calls += 1
        if self.calls == 2:
            raise SystemExit("stopped mid-call")
        return SendResult(provider="smtp", provider_message_id=f"<m{message.message_id}>")

    def close(self) -> None:
        pass


def test_a_batch_stopped_mid_send_releases_only_messages_never_handed_over(actor):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('b')}@example.test") for _ in range(4)])
    channel = StopsOnSecondSend()
    with pytest.raises(SystemExit):
        sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(provider="smtp"),
                           channels={"email": channel})
    # sent and recorded; in the provider's hands (never resent, later 'unknown'); never handed over -> queued
    assert statuses(ids) == {ids[0]: "sent", ids[1]: "sending", ids[2]: "queued", ids[3]: "queued"}
    assert channel.calls == 2


def quota_rows(actor):
    from core.db.models import SendQuota

    with UnitOfWork() as uow:
        return {(q.channel, q.provider, q.day.isoformat()): q.used for q in uow.session.scalars(
            select(SendQuota).where(SendQuota.workspace_id == actor.workspace_id))}


def test_daily_cap_counts_what_went_out_before_the_counter_existed(actor, providers):
    """The first claim of a day starts the counter from that day's messages already out (e.g. after an upgrade)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    configure_workspace(actor, daily_caps={"email": 3})
    earlier = draft_and_queue(actor, [make_lead(actor, email=f"{unique('e')}@example.test") for _ in range(2)])
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday, inside the window
    with UnitOfWork() as uow:  # sent earlier today, as an older LeadScout recorded them: no counter row
        uow.session.execute(update(Message).where(Message.id.in_(earlier)).values(
            status="sent", provider="sendgrid", sent_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC)))
        uow.commit()
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('e')}@example.test") for _ in range(2)])
    summary = sender.send_queued(workspace_id=actor.workspace_id, now=lambda: now,
                                 settings=settings_for(providers.url, provider="sendgrid"))
    assert (summary.sent, summary.capped) == (1, 1)
    assert sorted(statuses(ids).values()) == ["queued", "sent"]
    assert quota_rows(actor) == {("email", "sendgrid", "2026-11-25"): 3}


def test_daily_cap_counts_refusals_resets_next_day_and_gets_back_unsent_claims(actor, providers):
    from datetime import UTC, datetime

    configure_workspace(actor, daily_caps={"email": 2})
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('q')}@example.test") for _ in range(5)])
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    providers.fail_next.append(400)  # the provider refuses the first: it was still an attempt, and it counts
    first = sender.send_queued(workspace_id=actor.workspace_id, now=lambda: wednesday,
                               settings=settings_for(providers.url, provider="sendgrid"))
    assert (first.failed, first.sent, first.capped) == (1, 1, 3)
    assert quota_rows(actor) == {("email", "sendgrid", "2026-11-25"): 2}
    # Next day, a new allowance of 3: the pass claims the three left, sends one, dies during the second
    # call (in the provider's hands: counted) and gives the third, never handed over, back.
    configure_workspace(actor, daily_caps={"email": 3})
    channel = StopsOnSecondSend()
    thursday = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    with pytest.raises(SystemExit):
        sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(provider="smtp"),
                           channels={"email": channel}, now=lambda: thursday)
    assert channel.calls == 2
    assert sorted(statuses(ids).values()) == ["failed", "queued", "sending", "sent", "sent"]
    assert quota_rows(actor)[("email", "smtp", "2026-11-26")] == 2


def test_two_concurrent_senders_share_one_daily_cap(actor, providers):
    configure_workspace(actor, daily_caps={"email": 5})
    draft_and_queue(actor, [make_lead(actor, email=f"{unique('k')}@example.test") for _ in range(12)])
    # one message per claim, so the two senders' claims interleave; pacing sleeps skipped
    settings = settings_for(providers.url, provider="sendgrid").model_copy(update={"outreach_rate_per_second": 0.1})
    results = []
    threads = [threading.Thread(target=lambda: results.append(sender.send_queued(
        workspace_id=actor.workspace_id, settings=settings, sleep=lambda _s: None))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(providers.calls_to("sendgrid")) == 5
    assert sum(r.sent for r in results) == 5
    assert sum(quota_rows(actor).values()) == 5


def provider_calls_by_message(providers) -> Counter:
    return Counter(int(c["json"]["personalizations"][0]["custom_args"]["leadscout_message_id"])
                   for c in providers.calls_to("sendgrid"))


def test_sender_killed_mid_batch_requeues_the_claims_it_never_attempted(actor, providers):
    ids = draft_and_queue(actor, [make_lead(actor, email=f"{unique('m')}@example.test") for _ in range(6)])
    providers.hold.set()  # the provider holds the first message's call: the sender dies inside it
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.Popen([sys.executable, "-c", SENDER_SCRIPT, str(actor.workspace_id), providers.url],
                             cwd=PROJECT_ROOT, env=env)
    try:
        assert providers.received.wait(60), "the sender never reached the provider"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        providers.hold.clear()
        providers.release.set()
    assert set(statuses(ids).values()) == {"sending"}  # the whole batch was claimed before the kill
    with UnitOfWork() as uow:  # the claims were found an hour later
        uow.session.execute(update(Message).where(Message.id.in_(ids))
                            .values(updated_at=utcnow() - timedelta(hours=1)))
        uow.commit()
    recovery = sender.send_queued(workspace_id=actor.workspace_id,
                                  settings=settings_for(providers.url, provider="sendgrid",
                                                        outreach_stale_sending_seconds=900))
    calls = provider_calls_by_message(providers)
    assert set(calls) == set(ids) and set(calls.values()) == {1}  # every message once, none twice
    assert statuses(ids) == {ids[0]: "unknown", **{i: "sent" for i in ids[1:]}}
    assert recovery.sent == 5
    history = [e.status for e in message_log.message_history(actor=actor, message_id=ids[1])]
    assert history == ["approved", "queued", "sending", "queued", "sending", "sent"]
    final = Counter(statuses(ids).values())
    print(f"\nSIGKILL mid-batch: claimed={len(ids)} unknown={final['unknown']} re-queued and sent={recovery.sent} "
          f"duplicates={sum(n - 1 for n in calls.values())}")


def test_unsubscribed_after_the_batch_was_claimed_is_not_sent(actor, providers):
    first, second = f"{unique('s')}@example.test", f"{unique('s')}@example.test"
    ids = draft_and_queue(actor, [make_lead(actor, email=first), make_lead(actor, email=second)])
    providers.hold.set()  # the first message's call is held while the second address unsubscribes
    results = []
    thread = threading.Thread(target=lambda: results.append(sender.send_queued(
        workspace_id=actor.workspace_id, settings=settings_for(providers.url, provider="sendgrid"))))
    thread.start()
    try:
        assert providers.received.wait(60), "the sender never reached the provider"
        assert statuses(ids)[ids[1]] == "sending"  # claimed before the unsubscribe
        suppression.add_suppression(actor=actor, channel="email", address=second, reason="unsubscribed")
    finally:
        providers.hold.clear()
        providers.release.set()
        thread.join(60)
    assert provider_calls_by_message(providers) == Counter({ids[0]: 1})
    [summary] = results
    assert (summary.sent, summary.suppressed) == (1, 1)
    with UnitOfWork() as uow:
        message = uow.session.get(Message, ids[1])
        assert message.status == "failed" and "suppressed (unsubscribed)" in message.error
