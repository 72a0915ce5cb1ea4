"""Issue 18 items 8 and 10: queued messages go by themselves once due (never twice, never to an opted-out
contact), the page's times for each, and the sender refusing a placeholder From address."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core import background
from core.background import kinds, schedule
from core.background.kinds import JobKind
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Message, MessageEvent
from core.outreach import limits, sender, suppression, timing
from core.zones import zone_named
from tests.conftest import unique
from tests.fixtures.leads_data import HoldRunner
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for
from tests.fixtures.outreach_servers import SMTPServer

SATURDAY_NOON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def statuses(ids: list[int]) -> dict[int, str]:
    with UnitOfWork() as uow:
        return dict(uow.session.execute(select(Message.id, Message.status).where(Message.id.in_(ids))).all())


def sent_events(ids: list[int]) -> dict[int, int]:
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(MessageEvent.message_id, func.count())
            .where(MessageEvent.message_id.in_(ids), MessageEvent.status == "sent")
            .group_by(MessageEvent.message_id)
        ).all()
    return {message_id: count for message_id, count in rows}


def send_due_periodic() -> schedule.Periodic:
    """The scheduled sender under a name of its own, so tests sharing the database never share its slot."""
    (real,) = [p for p in schedule.PERIODIC if p.kind == kinds.SEND_DUE]
    return schedule.Periodic(JobKind(unique("test.send_due"), real.kind.target, real.kind.queue), real.every,
                             needed=real.needed)


def run_scheduled_sender() -> list[int]:
    """One tick of the scheduled sender: submit it if due, then run the jobs it submitted here."""
    runner = HoldRunner()
    job_ids = schedule.submit_due(periodic=(send_due_periodic(),), runner=runner)
    for job_id in job_ids:
        background.execute_job(job_id, target=kinds.SEND_DUE.target)
    return job_ids


def test_the_scheduled_sender_ticks_every_minute_and_asks_first_whether_anything_is_due():
    (item,) = [p for p in schedule.PERIODIC if p.kind == kinds.SEND_DUE]
    assert item.every == timedelta(minutes=1) and item.kind.queue == "send"
    assert item.needed == "core.outreach.timing:any_due"


def test_next_send_time_is_the_first_quarter_hour_inside_the_window_in_every_zone():
    berlin, kolkata = zone_named("Europe/Berlin"), zone_named("Asia/Kolkata")
    weekdays = (8, 20, (0, 1, 2, 3, 4))
    assert limits.next_send_at(SATURDAY_NOON, (berlin,), weekdays) == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    # Kolkata is UTC+5:30: Monday 08:00 there is Monday 02:30 UTC
    assert limits.next_send_at(SATURDAY_NOON, (kolkata,), weekdays) == datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
    monday_ten = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert limits.next_send_at(monday_ten, (berlin,), weekdays) == monday_ten  # inside: now
    assert limits.next_send_at(SATURDAY_NOON, (berlin,), (8, 20, ())) is None  # no sending days


def test_a_queued_message_shows_when_it_goes_and_the_scheduled_sender_sends_it_once_when_due(owner):
    configure_workspace(owner, send_window=[8, 20], send_weekdays=[0, 1, 2, 3, 4], timezone="Europe/Berlin")
    lead = make_lead(owner, email=f"{unique('wait')}@example.test", country="DE", location="Berlin")
    (message_id,) = draft_and_queue(owner, [lead])
    summary = sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(provider="outbox"),
                                 now=lambda: SATURDAY_NOON)  # the click's send job, on a Saturday
    assert summary.waiting == 1 and statuses([message_id]) == {message_id: "queued"}

    (view,) = timing.queued_schedule(actor=owner, now=SATURDAY_NOON)
    assert (view.message_id, view.goes_at) == (message_id, datetime(2026, 12, 7, 7, 0, tzinfo=UTC))  # Mon 08:00
    assert "waits for the sending window (08:00–20:00" in view.why
    assert not timing.any_due(now=SATURDAY_NOON, workspace_id=owner.workspace_id)
    assert timing.any_due(now=view.goes_at, workspace_id=owner.workspace_id)

    configure_workspace(owner, send_weekdays=[])
    (view,) = timing.queued_schedule(actor=owner, now=SATURDAY_NOON)
    assert view.goes_at is None and "no sending days" in view.why
    assert not timing.any_due(workspace_id=owner.workspace_id)

    configure_workspace(owner)  # the window is open around the clock: due now, whatever the time
    assert timing.any_due(workspace_id=owner.workspace_id)
    assert len(run_scheduled_sender()) == 1
    assert statuses([message_id]) == {message_id: "sent"}
    assert timing.queued_schedule(actor=owner) == []
    run_scheduled_sender()
    assert sent_events([message_id]) == {message_id: 1}


def test_the_scheduled_sender_never_sends_twice_nor_to_an_opted_out_contact(owner):
    configure_workspace(owner, send_weekdays=[])  # queued while nothing may go
    emails = [f"{unique('due')}@example.test" for _ in range(6)]
    ids = draft_and_queue(owner, [make_lead(owner, email=address) for address in emails])
    suppression.add_suppression(actor=owner, channel="email", address=emails[0])  # unsubscribed meanwhile
    configure_workspace(owner)
    workers = [threading.Thread(target=sender.send_queued, kwargs={"settings": get_settings()}) for _ in range(2)]
    for worker in workers:  # two processes ticking at once, and the periodic job after them
        worker.start()
    run_scheduled_sender()
    for worker in workers:
        worker.join()
    final = statuses(ids)
    assert final[ids[0]] == "failed"
    assert {final[i] for i in ids[1:]} == {"sent"}
    assert sent_events(ids) == {i: 1 for i in ids[1:]}


def test_the_daily_cap_moves_the_rest_to_tomorrows_window(owner):
    configure_workspace(owner, daily_caps={"email": 1})
    ids = draft_and_queue(owner, [make_lead(owner, email=f"{unique('cap')}@example.test") for _ in range(2)])
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    first, second = timing.queued_schedule(actor=owner, now=now, settings=settings_for(provider="outbox"))
    assert (first.message_id, first.goes_at) == (ids[0], now) and "next pass" in first.why
    assert second.message_id == ids[1] and "cap is used up" in second.why
    assert second.goes_at == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)  # midnight in Berlin, window 0-24


def test_the_sender_refuses_a_placeholder_from_address_with_a_real_provider(owner):
    configure_workspace(owner, from_email="outreach@localhost")
    ids = draft_and_queue(owner, [make_lead(owner, email=f"{unique('from')}@example.test")])
    with SMTPServer() as smtp:
        summary = sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(smtp_port=smtp.port))
        delivered = list(smtp.envelopes)
    assert summary.sent == 0 and summary.suppressed == 1 and delivered == []
    with UnitOfWork() as uow:
        error = uow.session.scalar(select(Message.error).where(Message.id == ids[0]))
    assert "From address 'outreach@localhost'" in error and "Sending rules" in error

    configure_workspace(owner, from_email="outreach@localhost")
    outbox_ids = draft_and_queue(owner, [make_lead(owner, email=f"{unique('box')}@example.test")])
    recorded = sender.send_queued(workspace_id=owner.workspace_id, settings=settings_for(provider="outbox"))
    assert recorded.sent == 1 and statuses(outbox_ids) == {outbox_ids[0]: "sent"}  # the outbox delivers nothing


def test_a_sender_with_its_cap_used_up_or_paused_makes_no_sending_job_until_it_may_send(owner):
    """The scheduled sender asks first whether anything could go: a capped or paused sender's queued messages
    do not make an empty sending job every minute (they wait for tomorrow, or for an admin to resume)."""
    from core.db.models import SenderPause

    configure_workspace(owner, daily_caps={"email": 1})
    ids = draft_and_queue(owner, [make_lead(owner, email=f"{unique('capjob')}@example.test") for _ in range(2)])
    outbox = settings_for(provider="outbox")
    assert timing.any_due(workspace_id=owner.workspace_id, settings=outbox)
    summary = sender.send_queued(workspace_id=owner.workspace_id, settings=outbox)
    assert (summary.sent, summary.capped) == (1, 1)
    assert sorted(statuses(ids).values()) == ["queued", "sent"]
    assert not timing.any_due(workspace_id=owner.workspace_id, settings=outbox)  # capped until tomorrow
    tomorrow = utc_tomorrow()
    assert timing.any_due(workspace_id=owner.workspace_id, settings=outbox, now=tomorrow)

    configure_workspace(owner)  # generous caps again: due now
    assert timing.any_due(workspace_id=owner.workspace_id, settings=outbox)
    with UnitOfWork() as uow:
        uow.session.add(SenderPause(workspace_id=owner.workspace_id, channel="email", provider="outbox", paused=True,
                                    reason="test: paused by the bounce guard"))
        uow.commit()
    assert not timing.any_due(workspace_id=owner.workspace_id, settings=outbox)


def utc_tomorrow() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)
