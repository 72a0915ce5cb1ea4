"""One attempt of a job: the state machine of its row (queued → running → succeeded | failed |
retrying | cancelled) around a call of its registered function.

While an attempt runs, a lease thread refreshes the row's ``heartbeat_at`` every third of
``JOB_LEASE_SECONDS``; a job whose lease lapsed lost its worker (see ``recovery``). A failed
attempt with attempts left becomes ``retrying`` with ``retry_at`` set from ``JOB_RETRY_DELAYS``
(the first retry waits the first delay, and so on) and the runner starts the next attempt then.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from core.background.context import JobCancelled, JobContext, JobFunction, JobSuperseded
from core.background.kinds import KINDS
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import Job, utcnow
from core.errors import InvalidInput, LeadScoutError, NotFound, PermissionDenied
from core.logs import log_context

log = logging.getLogger(__name__)

PERMANENT_ERRORS = (InvalidInput, NotFound, PermissionDenied)
# Which process runs (or ran) a job: the embedded runner recovers only other processes' jobs.
INSTANCE_ID = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often a job is tried again and after how long: JOB_RETRIES and JOB_RETRY_DELAYS of the
    process that submitted it (carried with each RQ attempt), or of this process."""

    retries: int
    delays: tuple[int, ...]

    @classmethod
    def of(cls, settings: Settings | None = None) -> RetryPolicy:
        settings = settings or get_settings()
        return cls(settings.job_retries, tuple(settings.job_retry_delays))

    @classmethod
    def from_args(cls, value: Any) -> RetryPolicy:
        """From an RQ job's argument (a dict), or this process's settings when it has none."""
        if isinstance(value, dict) and "retries" in value:
            return cls(int(value["retries"]), tuple(int(d) for d in value.get("delays", ())))
        return cls.of()

    def as_args(self) -> dict[str, Any]:
        return {"retries": self.retries, "delays": list(self.delays)}

    def delay(self, attempts_used: int) -> float:
        """Seconds before the attempt after ``attempts_used`` ones: the delays in order, the last repeating."""
        if not self.delays:
            return 0.0
        return float(self.delays[min(max(attempts_used, 1) - 1, len(self.delays) - 1)])


class RetryScheduled(Exception):
    """An attempt failed and the next one is planned for ``retry_at`` (the row says ``retrying``)."""

    def __init__(self, job_id: int, attempt: int, retry_at: datetime, policy: RetryPolicy) -> None:
        super().__init__(f"job {job_id}: attempt {attempt} at {retry_at:%H:%M:%S}")
        self.job_id = job_id
        self.attempt = attempt
        self.retry_at = retry_at
        self.policy = policy


def mark(job_id: int, **values: Any) -> None:
    """Set columns of a job row in a transaction of its own."""
    with UnitOfWork() as uow:
        uow.session.execute(update(Job).where(Job.id == job_id).values(**values))
        uow.commit()


def finish_cancelled(job_id: int) -> None:
    """Record that a job stopped because it was cancelled."""
    mark(job_id, status="cancelled", finished_at=utcnow(), retry_at=None, message="Cancelled")


def resolve(target: str) -> JobFunction:
    """The job function a ``module:function`` target names."""
    module_name, _, function_name = target.partition(":")
    function: JobFunction = getattr(importlib.import_module(module_name), function_name)
    return function


def describe_error(exc: BaseException) -> str:
    """A one-line description of a job's failure, fit for the job table."""
    if isinstance(exc, LeadScoutError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:2000]


def plan_retry(
    job_id: int,
    error: str,
    *,
    policy: RetryPolicy | None = None,
    only_if: tuple[str, ...] = (),
    silent_since: datetime | None = None,
) -> RetryScheduled | None:
    """After a failed or lost attempt: mark the job ``retrying`` at the next configured delay, or
    ``failed`` when no attempt is left. Returns the plan, or None when nothing is to run again.

    ``only_if``: act only while the row has one of these statuses (a lost worker's job is taken
    once, by whichever of the worker, the sweep or the runner sees it first); ``silent_since``:
    only when its lease was last refreshed before then.
    """
    policy = policy or RetryPolicy.of()
    now = utcnow()
    with UnitOfWork() as uow:
        job = uow.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job is None or job.status in ("succeeded", "failed", "cancelled"):
            return None
        if only_if and job.status not in only_if:
            return None
        if silent_since is not None and job.heartbeat_at is not None and job.heartbeat_at >= silent_since:
            return None
        if job.cancel_requested:
            job.status, job.finished_at, job.message, job.retry_at = "cancelled", now, "Cancelled", None
            uow.commit()
            return None
        job.error = error[:2000]
        if job.attempts > policy.retries:
            job.status, job.finished_at, job.retry_at, job.message = "failed", now, None, "Failed"
            uow.commit()
            return None
        retry_at = now + timedelta(seconds=policy.delay(job.attempts))
        job.status, job.retry_at = "retrying", retry_at
        job.message = f"Retrying at {retry_at:%H:%M:%S} after: {error}"[:500]
        plan = RetryScheduled(job_id, job.attempts + 1, retry_at, policy)
        uow.commit()
    log.warning("job %s: attempt %s failed (%s); next attempt at %s", job_id, plan.attempt - 1, error, retry_at)
    return plan


def execute_job(
    job_id: int, *, target: str = "", attempt: int | None = None, policy: RetryPolicy | None = None
) -> None:
    """Run one attempt of a job.

    Raises ``RetryScheduled`` when the attempt failed and another is planned: the runner starts it
    at ``retry_at``. ``attempt`` (1 for the first) makes a stale or duplicate delivery a no-op.
    The function comes from the row's kind, so a job queued before an upgrade moved its function
    still runs; ``target`` is used only for a kind this version does not know.
    """
    with log_context(job_id=job_id):
        _execute_job(job_id, target=target, attempt=attempt, policy=policy or RetryPolicy.of())


def _start(job_id: int, attempt: int | None, retries: int) -> tuple[str, dict[str, Any], int | None, int, bool] | None:
    """Mark the job running; None when there is nothing to run (gone, done, cancelled or stale)."""
    with UnitOfWork() as uow:
        job = uow.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job is None:
            log.warning("job %s vanished before it ran", job_id)
            return None
        if job.status in ("succeeded", "failed", "cancelled"):
            return None  # already done: running twice is a no-op
        # A delivery of another attempt than the one planned is stale (a queued row, fresh or requeued from the
        # System page, runs whatever attempt number its RQ job carries; a running one is never started twice).
        if attempt is not None and (
            job.status == "running" or (job.status == "retrying" and job.attempts != attempt - 1)
        ):
            log.info("job %s: attempt %s is stale (attempts %s, %s)", job_id, attempt, job.attempts, job.status)
            return None
        if job.cancel_requested:
            job.status, job.finished_at, job.message, job.retry_at = "cancelled", utcnow(), "Cancelled", None
            uow.commit()
            return None
        job.status = "running"
        job.attempts += 1
        job.started_at = job.started_at or utcnow()
        job.heartbeat_at = utcnow()
        job.retry_at = None
        if job.executor == "rq":
            job.runner = INSTANCE_ID
        final = job.attempts > retries
        started = (job.kind, dict(job.args), job.workspace_id, job.attempts, final)
        uow.commit()
        return started


class Lease:
    """Refreshes a running attempt's ``heartbeat_at`` from a thread until stopped."""

    def __init__(self, job_id: int, attempt: int, seconds: float) -> None:
        self.job_id, self.attempt = job_id, attempt
        self.interval = max(0.5, seconds / 3)
        self.lost = False  # the row no longer runs this attempt: the sweep gave it to a retry
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-lease", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with UnitOfWork() as uow:
                    refreshed = uow.session.execute(
                        update(Job)
                        .where(Job.id == self.job_id, Job.status == "running", Job.attempts == self.attempt)
                        .values(heartbeat_at=utcnow())
                    )
                    uow.commit()
                if not getattr(refreshed, "rowcount", 1):
                    log.warning("job %s: attempt %s lost its lease to a retry; it stops", self.job_id, self.attempt)
                    self.lost = True
                    return
            except Exception:  # noqa: BLE001 - a missed beat is retried; the sweep tolerates a few
                log.exception("job %s: lease refresh failed", self.job_id)


def _execute_job(job_id: int, *, target: str, attempt: int | None, policy: RetryPolicy) -> None:
    started = _start(job_id, attempt, policy.retries)
    if started is None:
        return
    kind, args, workspace_id, attempt_no, final_attempt = started
    target = KINDS[kind].target if kind in KINDS else target
    context = JobContext(job_id, workspace_id, uow_factory=UnitOfWork, final_attempt=final_attempt)
    lease = Lease(job_id, attempt_no, get_settings().job_lease_seconds)
    context.superseded = lambda: lease.lost
    try:
        with lease:
            result = resolve(target)(context, args)
    except JobSuperseded:
        return  # the row belongs to the retry now
    except JobCancelled:
        finish_cancelled(job_id)
        return
    except PERMANENT_ERRORS as exc:
        mark(job_id, status="failed", error=describe_error(exc), finished_at=utcnow(), message="Failed")
        return
    except Exception as exc:
        log.exception("job %s (%s) attempt %s failed", job_id, target, attempt_no)
        plan = plan_retry(job_id, describe_error(exc), policy=policy)
        if plan is not None:
            raise plan from exc
        raise  # the last attempt: RQ keeps it in its failed registry, with the traceback
    with UnitOfWork() as uow:
        job = uow.session.get(Job, job_id)
        if job is not None:
            job.status = "succeeded"
            job.finished_at = utcnow()
            job.retry_at = None
            job.result = result or {}
            if job.progress_total is not None:
                job.progress_done = job.progress_total
            uow.commit()
