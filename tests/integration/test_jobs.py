"""Jobs on the embedded executor and on RQ with a real ``rq worker --burst`` against real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from core import background
from core.config import PROJECT_ROOT, get_settings
from core.db.models import utcnow
from core.errors import InvalidInput, NotFound

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def wait_for(actor, job_id: int, statuses: tuple[str, ...], timeout: float = 30.0) -> background.JobView:
    """Poll the job row until it reaches one of ``statuses`` (a bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = background.get_job_or_raise(actor=actor, job_id=job_id)
        if view.status in statuses:
            return view
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} stayed {view.status!r}, wanted {statuses}")


@pytest.fixture
def embedded():
    runner = background.EmbeddedRunner(get_settings().model_copy(update={"job_retries": 1, "job_retry_delays": [0]}))
    yield runner
    runner.shutdown()


def test_embedded_job_runs_and_reports_progress(owner, embedded):
    job_id = background.submit(kind="system.selftest", args={"steps": 5, "pause": 0.01}, actor=owner, runner=embedded)
    view = wait_for(owner, job_id, ("succeeded", "failed"))
    assert view.status == "succeeded"
    assert (view.progress_done, view.progress_total) == (5, 5)
    assert view.result == {"steps": 5}
    assert view.attempts == 1


def test_embedded_job_progress_is_visible_while_running(owner, embedded):
    job_id = background.submit(kind="system.selftest", args={"steps": 200, "pause": 0.05}, actor=owner, runner=embedded)
    seen = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(seen) < 3:
        view = background.get_job_or_raise(actor=owner, job_id=job_id)
        if view.status == "running" and view.progress_done:
            seen.add(view.progress_done)
        time.sleep(0.1)
    background.cancel(actor=owner, job_id=job_id, runner=embedded)
    assert len(seen) >= 3, f"progress values seen while running: {sorted(seen)}"
    assert wait_for(owner, job_id, ("cancelled",)).status == "cancelled"


def test_embedded_cancel_stops_a_running_job(owner, embedded):
    job_id = background.submit(kind="system.selftest", args={"steps": 1000, "pause": 0.05}, actor=owner, runner=embedded)
    wait_for(owner, job_id, ("running",))
    background.cancel(actor=owner, job_id=job_id, runner=embedded)
    view = wait_for(owner, job_id, ("cancelled", "succeeded", "failed"))
    assert view.status == "cancelled"
    assert view.progress_done < 1000


def test_embedded_failing_job_is_retried_then_failed(owner, embedded):
    job_id = background.submit(
        kind="system.selftest", args={"steps": 1, "pause": 0, "fail_with": "boom"}, actor=owner, runner=embedded
    )
    view = wait_for(owner, job_id, ("failed", "succeeded"))
    assert view.status == "failed"
    assert view.attempts == 2  # one retry (job_retries=1)
    assert "RuntimeError: boom" in view.error


def wait_for_attempt(actor, job_id: int, attempts: int, timeout: float = 30.0) -> background.JobView:
    """Poll until the job has made ``attempts`` attempts and is retrying or finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = background.get_job_or_raise(actor=actor, job_id=job_id)
        if view.attempts == attempts and view.status in ("retrying", "failed", "succeeded"):
            return view
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never finished attempt {attempts}: {view}")


def test_embedded_retries_wait_the_configured_delays_in_order(owner):
    # Before: the embedded runner waited each delay times a random 0.8-1.2 and its row said nothing of when.
    runner = background.EmbeddedRunner(get_settings().model_copy(update={"job_retries": 2, "job_retry_delays": [1, 2]}))
    try:
        before = utcnow()
        job_id = background.submit(
            kind="system.selftest", args={"steps": 1, "pause": 0, "fail_with": "boom"}, actor=owner, runner=runner
        )
        first = wait_for_attempt(owner, job_id, 1)
        assert first.status == "retrying" and first.retry_at is not None
        # the attempt failed between ``before`` and now, and its retry is due the first delay after that
        assert before + timedelta(seconds=1) <= first.retry_at <= utcnow() + timedelta(seconds=1)
        assert first.state.startswith(f"retrying at {first.retry_at:%H:%M:%S} UTC (attempt 2) after: RuntimeError: boom")
        second = wait_for_attempt(owner, job_id, 2)
        assert second.status == "retrying" and second.retry_at is not None
        assert first.retry_at + timedelta(seconds=2) <= second.retry_at <= utcnow() + timedelta(seconds=2)
        last = wait_for_attempt(owner, job_id, 3)
        assert last.status == "failed" and last.retry_at is None and last.state == "failed"
        assert last.error == "RuntimeError: boom"
    finally:
        runner.shutdown()


def test_retry_creates_a_new_job_with_the_same_arguments(owner, embedded):
    job_id = background.submit(kind="system.selftest", args={"steps": 1, "pause": 0, "fail_with": "x"}, actor=owner, runner=embedded)
    wait_for(owner, job_id, ("failed",))
    again = background.retry(actor=owner, job_id=job_id, runner=embedded)
    assert again != job_id
    assert wait_for(owner, again, ("failed",)).error == "RuntimeError: x"
    with pytest.raises(InvalidInput, match="Only failed or cancelled"):
        running = background.submit(kind="system.selftest", args={"steps": 500, "pause": 0.05}, actor=owner, runner=embedded)
        wait_for(owner, running, ("running",))
        try:
            background.retry(actor=owner, job_id=running, runner=embedded)
        finally:
            background.cancel(actor=owner, job_id=running, runner=embedded)


def test_unknown_kind_is_refused(owner, embedded):
    with pytest.raises(InvalidInput, match="Unknown job kind"):
        background.submit(kind="no.such.kind", actor=owner, runner=embedded)


def test_jobs_are_scoped_to_their_workspace(owner, embedded):
    from tests.conftest import make_owner

    other = make_owner()
    job_id = background.submit(kind="system.selftest", args={"steps": 1, "pause": 0}, actor=owner, runner=embedded)
    wait_for(owner, job_id, ("succeeded",))
    assert background.get_job(actor=other, job_id=job_id) is None
    assert all(view.id != job_id for view in background.list_jobs(actor=other))
    with pytest.raises(NotFound):
        background.cancel(actor=other, job_id=job_id, runner=embedded)
    with pytest.raises(NotFound):
        background.retry(actor=other, job_id=job_id, runner=embedded)


def test_interrupted_embedded_jobs_are_marked_failed(owner, uow):
    from core.db.models import Job

    with uow:
        orphan = Job(workspace_id=owner.workspace_id, kind="system.selftest", status="running", executor="embedded", runner="dead-host:1:abc")
        uow.session.add(orphan)
        uow.commit()
        orphan_id = orphan.id
    assert background.recover_interrupted_jobs() >= 1
    view = background.get_job_or_raise(actor=owner, job_id=orphan_id)
    assert view.status == "failed"
    assert "Interrupted" in view.error


# --- RQ on real Redis ------------------------------------------------------------------------


def _redis_or_skip():
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return connection


@pytest.fixture
def rq_runner():
    connection = _redis_or_skip()
    settings = get_settings().model_copy(update={"redis_url": REDIS_URL, "job_retries": 2, "job_retry_delays": [0]})
    runner = background.RQRunner(settings, redis_url=REDIS_URL)
    for name in background.QUEUES:
        from rq import Queue

        Queue(name, connection=connection).empty()
    yield runner


def run_burst_worker(*queues: str) -> subprocess.CompletedProcess[str]:
    """One real ``rq worker --burst`` subprocess on the given queues."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), REDIS_URL=REDIS_URL)
    rq_bin = Path(sys.executable).with_name("rq")
    return subprocess.run(
        [str(rq_bin), "worker", "--burst", "--url", REDIS_URL, *queues],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rq_job_runs_in_a_real_worker(owner, rq_runner):
    job_id = background.submit(kind="system.selftest", args={"steps": 3, "pause": 0.01}, actor=owner, runner=rq_runner)
    assert background.get_job_or_raise(actor=owner, job_id=job_id).status == "queued"
    proc = run_burst_worker("default")
    assert proc.returncode == 0, proc.stderr
    view = background.get_job_or_raise(actor=owner, job_id=job_id)
    assert view.status == "succeeded", (view, proc.stderr[-2000:])
    assert view.executor == "rq"
    assert view.result == {"steps": 3}


def test_rq_failing_job_is_retried_then_recorded_failed(owner, rq_runner):
    job_id = background.submit(
        kind="system.selftest", args={"steps": 1, "pause": 0, "fail_with": "provider exploded"}, actor=owner, runner=rq_runner
    )
    proc = run_burst_worker("default")
    assert proc.returncode == 0, proc.stderr
    view = background.get_job_or_raise(actor=owner, job_id=job_id)
    assert view.status == "failed", (view, proc.stderr[-2000:])
    assert view.attempts == 3  # first try + job_retries=2
    assert view.error == "RuntimeError: provider exploded"


def test_rq_cancel_before_start_never_runs(owner, rq_runner):
    job_id = background.submit(kind="system.selftest", args={"steps": 1, "pause": 0}, actor=owner, runner=rq_runner)
    assert background.cancel(actor=owner, job_id=job_id, runner=rq_runner).status == "cancelled"
    run_burst_worker("default")
    view = background.get_job_or_raise(actor=owner, job_id=job_id)
    assert view.status == "cancelled"
    assert view.attempts == 0


def test_rq_cancel_stops_a_running_job(owner, rq_runner):
    job_id = background.submit(kind="system.selftest", args={"steps": 2000, "pause": 0.05}, actor=owner, runner=rq_runner)
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), REDIS_URL=REDIS_URL)
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("rq")), "worker", "--burst", "--url", REDIS_URL, "default"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(owner, job_id, ("running",), timeout=60)
        background.cancel(actor=owner, job_id=job_id, runner=rq_runner)
        view = wait_for(owner, job_id, ("cancelled", "succeeded", "failed"), timeout=60)
        assert view.status == "cancelled"
        assert view.progress_done < 2000
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()


def test_rq_retries_are_scheduled_at_the_configured_delays_in_order(owner, rq_runner):
    # Before: RQ's Retry(max=2, interval=[7, 11]) picks the interval by the retries left, so the first retry
    # waited 11 s and the second 11 s again; 7 s was never used.
    from rq import Queue
    from rq.job import Job as RQJob
    from rq.registry import ScheduledJobRegistry

    settings = rq_runner.settings.model_copy(update={"job_retries": 2, "job_retry_delays": [7, 11]})
    runner = background.RQRunner(settings, redis_url=REDIS_URL)
    job_id = background.submit(
        kind="system.selftest", args={"steps": 1, "pause": 0, "fail_with": "provider exploded"}, actor=owner, runner=runner
    )
    queue = Queue("default", connection=runner.connection)
    scheduled = ScheduledJobRegistry("default", connection=runner.connection)
    previous_rq_id = None
    for attempt, delay in ((1, 7), (2, 11)):
        before = utcnow()
        proc = run_burst_worker("default")  # no scheduler: the planned attempt stays scheduled
        assert proc.returncode == 0, proc.stderr
        view = background.get_job_or_raise(actor=owner, job_id=job_id)
        assert view.status == "retrying" and view.attempts == attempt, (view, proc.stderr[-2000:])
        assert view.retry_at is not None
        assert before + timedelta(seconds=delay) <= view.retry_at <= utcnow() + timedelta(seconds=delay)
        assert view.state.endswith("after: RuntimeError: provider exploded")
        # RQ holds the next attempt until that time (its scheduler enqueues it then)
        rq_id = _rq_id_of(job_id)
        assert rq_id != previous_rq_id and rq_id in scheduled.get_job_ids()
        when = scheduled.get_scheduled_time(rq_id)
        assert abs((when - view.retry_at).total_seconds()) < 1
        # what the scheduler does at that time, now
        rq_job = RQJob.fetch(rq_id, connection=runner.connection)
        scheduled.remove(rq_job)
        queue.enqueue_job(rq_job)
        previous_rq_id = rq_id
    proc = run_burst_worker("default")
    view = background.get_job_or_raise(actor=owner, job_id=job_id)
    assert view.status == "failed" and view.attempts == 3 and view.retry_at is None, (view, proc.stderr[-2000:])


def _rq_id_of(job_id: int) -> str:
    from core.db import UnitOfWork
    from core.db.models import Job

    with UnitOfWork() as uow:
        job = uow.session.get(Job, job_id)
        assert job is not None
        return job.rq_id or ""


def test_a_queued_job_whose_redis_entry_was_lost_is_queued_again_once_and_runs(owner, rq_runner, monkeypatch):
    """Redis restarted without its data (or its database flushed): the job row still says queued, nothing in
    Redis will ever run it, and a run waiting for it would never end. The sweep queues it again, once."""
    from sqlalchemy import update

    from core.background import recovery
    from core.db import UnitOfWork
    from core.db.models import Job

    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    get_settings.cache_clear()
    try:
        lost = background.submit(kind="system.selftest", args={"steps": 2, "pause": 0}, actor=owner, runner=rq_runner)
        kept = background.submit(kind="system.selftest", args={"steps": 1, "pause": 0}, actor=owner, runner=rq_runner)
        lost_rq_id = _rq_id_of(lost)
        rq_runner.connection.delete(f"rq:job:{lost_rq_id}")  # gone, as after a restart without persistence
        rq_runner.connection.lrem("rq:queue:default", 0, lost_rq_id)
        assert lost not in recovery.requeue_vanished(connection=rq_runner.connection)  # not a lease old yet
        with UnitOfWork() as uow:
            long_ago = utcnow() - timedelta(seconds=get_settings().job_lease_seconds + 5)
            uow.session.execute(update(Job).where(Job.id.in_([lost, kept])).values(heartbeat_at=long_ago))
            uow.commit()

        # (the database may hold other tests' queued jobs whose Redis entries the fixture emptied: they count too)
        requeued = recovery.requeue_vanished(connection=rq_runner.connection)
        assert lost in requeued and kept not in requeued  # kept is still in Redis
        assert lost not in recovery.requeue_vanished(connection=rq_runner.connection)  # and only once
        assert _rq_id_of(lost) != lost_rq_id
        assert "entry in Redis was lost" in background.get_job_or_raise(actor=owner, job_id=lost).message
        proc = run_burst_worker("default")
        assert proc.returncode == 0, proc.stderr
        for job_id in (lost, kept):
            view = background.get_job_or_raise(actor=owner, job_id=job_id)
            assert view.status == "succeeded", (view, proc.stderr[-2000:])
    finally:
        get_settings.cache_clear()
