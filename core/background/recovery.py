"""Jobs whose worker died: a killed work horse, a lost worker (its lease lapsed), an overdue retry.

Under RQ each attempt is its own RQ job with no RQ ``Retry``; a failed attempt plans the next one
(``execution.plan_retry``) and it is put on the queue at ``retry_at`` through RQ's scheduler. When
the process running an attempt dies, nothing in it can do that, so:

- the worker whose work horse was killed says so at once (``worker_died``, from ``workers.tasks``);
- a whole worker killed stops refreshing its jobs' leases: the sweep finds running jobs unheard of
  for ``JOB_LEASE_SECONDS`` and plans their retry as "worker lost" (about a minute, not RQ's
  abandoned-job detection of ~14 minutes);
- a retry whose scheduled RQ job did not start (the worker holding RQ's scheduler lock died) is
  put on its queue directly by the sweep once it is a lease overdue;
- a queued job whose RQ job is gone from Redis (Redis restarted without its data, or its database was
  flushed) is put on its queue again once it has waited a lease: nothing else would ever run it, and a
  run waiting for it would never end.

Each of these takes a job once (a row lock and a status check); an attempt delivered twice is a
no-op (``execute_job`` checks the attempt number).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from core.background.execution import RetryPolicy, RetryScheduled, plan_retry
from core.background.kinds import KINDS
from core.background.runners import RQRunner
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Job, utcnow

log = logging.getLogger(__name__)


def schedule_attempt(plan: RetryScheduled, *, connection: Any = None) -> None:
    """Put the planned attempt of an RQ job on its queue at its ``retry_at`` (embedded jobs wait in their thread)."""
    with UnitOfWork() as uow:
        job = uow.session.get(Job, plan.job_id)
        if job is None or job.executor != "rq" or job.kind not in KINDS:
            return
        kind = KINDS[job.kind]
    runner = RQRunner()
    if connection is not None:
        runner.connection = connection
    rq_id = runner.enqueue(plan.job_id, kind, attempt=plan.attempt, at=plan.retry_at, policy=plan.policy)
    with UnitOfWork() as uow:
        uow.session.execute(
            update(Job).where(Job.id == plan.job_id, Job.status.in_(("retrying", "queued"))).values(rq_id=rq_id)
        )
        uow.commit()


def worker_died(job_id: int, reason: str, policy: RetryPolicy | None = None) -> RetryScheduled | None:
    """The attempt running job ``job_id`` died with its process: plan and schedule the next attempt."""
    plan = plan_retry(job_id, reason, policy=policy, only_if=("running", "queued"))
    if plan is not None:
        schedule_attempt(plan)
    return plan


def sweep_lost_jobs() -> list[int]:
    """Running RQ jobs whose lease lapsed become ``retrying`` ("worker lost"); the job ids."""
    lease = get_settings().job_lease_seconds
    silent_since = utcnow() - timedelta(seconds=lease)
    with UnitOfWork() as uow:
        ids = list(
            uow.session.scalars(
                select(Job.id).where(Job.executor == "rq", Job.status == "running", Job.heartbeat_at < silent_since)
            )
        )
    lost = []
    for job_id in ids:
        plan = plan_retry(
            job_id, f"worker lost (no heartbeat for {lease} s)", only_if=("running",), silent_since=silent_since
        )
        if plan is not None:
            schedule_attempt(plan)
            lost.append(job_id)
    return lost


def enqueue_overdue_retries() -> list[int]:
    """Retrying RQ jobs a lease past their ``retry_at`` go on their queue now; the job ids."""
    now = utcnow()
    overdue = now - timedelta(seconds=get_settings().job_lease_seconds)
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(Job.id, Job.attempts, Job.retry_at).where(
                Job.executor == "rq", Job.status == "retrying", Job.retry_at < overdue
            )
        ).all()
    started = []
    for job_id, attempts, retry_at in rows:
        with UnitOfWork() as uow:
            moved = uow.session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "retrying", Job.retry_at == retry_at)
                .values(
                    status="queued", retry_at=None, message=f"Queued again: its retry was due at {retry_at:%H:%M:%S}"
                )
            )
            uow.commit()
        if getattr(moved, "rowcount", 0):
            log.warning("job %s: retry overdue since %s; queued now", job_id, retry_at)
            schedule_attempt(RetryScheduled(job_id, attempts + 1, now, RetryPolicy.of()))
            started.append(job_id)
    return started


def requeue_vanished(*, connection: Any = None) -> list[int]:
    """Queued RQ jobs a lease old whose RQ job no longer exists in Redis go on their queue again; the job ids."""
    waited_since = utcnow() - timedelta(seconds=get_settings().job_lease_seconds)
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(Job.id, Job.attempts, Job.rq_id, Job.heartbeat_at).where(
                Job.executor == "rq", Job.status == "queued", Job.heartbeat_at < waited_since
            )
        ).all()
    if not rows:
        return []
    # imported here: only deployments with REDIS_URL load rq
    from rq.job import Job as RQJob

    connection = connection or RQRunner().connection
    requeued = []
    for job_id, attempts, rq_id, seen in rows:
        if rq_id and RQJob.exists(rq_id, connection=connection):
            continue  # still waiting its turn on the queue, or running
        with UnitOfWork() as uow:  # one sweeper takes it: the row must still be as it was read
            moved = uow.session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued", Job.heartbeat_at == seen)
                .values(heartbeat_at=utcnow(), message="Queued again: its entry in Redis was lost")
            )
            uow.commit()
        if getattr(moved, "rowcount", 0):
            log.warning("job %s: its RQ job %s is gone from Redis; queued again", job_id, rq_id)
            schedule_attempt(RetryScheduled(job_id, attempts + 1, utcnow(), RetryPolicy.of()), connection=connection)
            requeued.append(job_id)
    return requeued


def sweep() -> dict[str, list[int]]:
    """The three checks; what the workers run every third of a lease."""
    return {"lost": sweep_lost_jobs(), "overdue": enqueue_overdue_retries(), "vanished": requeue_vanished()}


def sweep_job(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    """The sweep as a job (the workers run it inline; this lets an operator submit it by hand)."""
    return {key: len(ids) for key, ids in sweep().items()}
