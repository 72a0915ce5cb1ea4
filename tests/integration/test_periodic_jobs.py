"""Periodic jobs: due once per period across every process, and the session purge they run."""

from __future__ import annotations

import inspect
import threading
from datetime import timedelta

from sqlalchemy import select

from core import background
from core.auth import service as auth
from core.background import schedule
from core.background.execution import resolve
from core.background.kinds import KINDS, JobKind
from core.db import UnitOfWork
from core.db.models import AuthSession, Job, utcnow
from tests.conftest import unique
from tests.fixtures.leads_data import HoldRunner


def periodic(every: timedelta = timedelta(hours=1)) -> schedule.Periodic:
    """A periodic self-test under a name of its own, so tests sharing the database never meet."""
    return schedule.Periodic(JobKind(unique("test.periodic"), "core.monitoring.jobs:selftest"), every, {"steps": 1})


def test_every_registered_job_target_resolves_to_a_job_function():
    for kind in KINDS.values():
        function = resolve(kind.target)
        assert list(inspect.signature(function).parameters) == ["ctx", "args"], kind.name


def test_session_housekeeping_is_a_periodic_job():
    assert background.kinds.PURGE_SESSIONS in [p.kind for p in schedule.PERIODIC]


def test_a_periodic_job_is_submitted_once_per_period():
    item, runner, now = periodic(), HoldRunner(), utcnow()
    first = schedule.submit_due(now=now, periodic=(item,), runner=runner)
    assert len(first) == 1
    assert schedule.submit_due(now=now + timedelta(minutes=59), periodic=(item,), runner=runner) == []
    again = schedule.submit_due(now=now + timedelta(hours=1), periodic=(item,), runner=runner)
    assert len(again) == 1 and again != first
    with UnitOfWork() as uow:
        kinds = uow.session.scalars(select(Job.kind).where(Job.id.in_(first + again))).all()
    assert kinds == [item.kind.name, item.kind.name]


def test_processes_ticking_at_the_same_moment_submit_it_once():
    item, runner, now = periodic(), HoldRunner(), utcnow()
    schedule.submit_due(now=now, periodic=(item,), runner=runner)  # the slot exists: the race is on moving it
    later = now + timedelta(hours=2)
    results: list[list[int]] = []
    barrier = threading.Barrier(6)

    def tick() -> None:
        barrier.wait()
        results.append(schedule.submit_due(now=later, periodic=(item,), runner=runner))

    threads = [threading.Thread(target=tick) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, 0, 1]


def test_the_purge_deletes_expired_and_revoked_sessions_and_keeps_live_ones():
    email = f"{unique('purge')}@example.test"
    auth.sign_up(email=email, password="correct horse battery", workspace_name=unique("ws"))
    live, expired, revoked = (auth.sign_in(email=email, password="correct horse battery") for _ in range(3))
    auth.sign_out(token=revoked.token)
    with UnitOfWork() as uow:
        rows = uow.session.scalars(select(AuthSession).where(AuthSession.user_id == live.user_id)).all()
        by_age = sorted(rows, key=lambda r: r.id)
        by_age[1].expires_at = utcnow() - timedelta(minutes=1)
        uow.commit()
    runner = HoldRunner()
    job_id = background.submit(kind=background.kinds.PURGE_SESSIONS, runner=runner)
    background.execute_job(job_id)
    with UnitOfWork() as uow:
        left = uow.session.scalars(select(AuthSession.id).where(AuthSession.user_id == live.user_id)).all()
    assert left == [by_age[0].id]
    assert auth.restore_session(token=live.token) is not None


def test_an_rq_worker_submits_the_due_periodic_jobs_and_still_forks_work_horses_cleanly():
    """The Procfile's worker ticks from its main loop; a horse forked after a tick must not hang."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from core.config import PROJECT_ROOT
    from core.db.models import PeriodicSlot

    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    started = utcnow()
    with UnitOfWork() as uow:
        uow.session.merge(PeriodicSlot(name=background.kinds.PURGE_SESSIONS.name, next_due_at=started))
        uow.commit()
    owner_job = background.submit(
        kind=background.kinds.SELFTEST, args={"steps": 1, "pause": 0}, runner=background.RQRunner(redis_url=redis_url)
    )
    worker = subprocess.run(
        [str(Path(sys.executable).with_name("rq")), "worker", "--burst", "--worker-class", "workers.tasks.Worker",
         "--url", redis_url, "crawl", "llm", "send", "default"],
        cwd=PROJECT_ROOT, env=dict(os.environ, REDIS_URL=redis_url), capture_output=True, text=True, timeout=120,
    )
    assert worker.returncode == 0, worker.stderr[-2000:]
    with UnitOfWork() as uow:
        purges = uow.session.scalars(
            select(Job).where(Job.kind == background.kinds.PURGE_SESSIONS.name, Job.created_at >= started)
        ).all()
        selftest = uow.session.get(Job, owner_job)
        assert [job.status for job in purges] == ["succeeded"]
        assert selftest is not None and selftest.status == "succeeded"
