"""Where jobs run: RQ on Redis, or a bounded thread pool inside this process (the embedded default)."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update

from core.background.execution import INSTANCE_ID, RetryPolicy, RetryScheduled, execute_job, finish_cancelled
from core.background.kinds import JobKind
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import JOB_ACTIVE_STATUSES, Job, utcnow
from core.errors import InvalidInput

log = logging.getLogger(__name__)
# The runner executing the current job: jobs a job submits run on the same runner.
current_runner: contextvars.ContextVar[Runner | None] = contextvars.ContextVar("leadscout_runner", default=None)


class Runner(Protocol):
    """Where jobs run: RQ or the in-process executor."""

    name: str

    def enqueue(self, job_id: int, kind: JobKind) -> str | None:
        """Hand the job to the runner; returns the runner's own id for it, if any."""

    def cancel_queued(self, rq_id: str | None) -> None:
        """Drop a job that has not started yet."""


class EmbeddedRunner:
    """A bounded thread pool inside this process (the default with no Redis)."""

    name = "embedded"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._pool = ThreadPoolExecutor(max_workers=self.settings.embedded_workers, thread_name_prefix="job")

    def enqueue(self, job_id: int, kind: JobKind) -> str | None:
        """Run the job on a pool thread, with the same retries RQ would give it."""
        self._pool.submit(self._run_with_retries, job_id, kind.target)
        return None

    def cancel_queued(self, rq_id: str | None) -> None:
        """Nothing to do: a queued job sees its cancel flag before it starts."""

    def _run_with_retries(self, job_id: int, target: str) -> None:
        """Run attempts until one ends; a failed attempt's retry waits until the ``retry_at`` it planned."""
        current_runner.set(self)
        attempt = 1
        while True:
            try:
                execute_job(job_id, target=target, attempt=attempt, policy=RetryPolicy.of(self.settings))
                return
            except RetryScheduled as plan:
                attempt = plan.attempt
                if _wait_unless_cancelled(job_id, (plan.retry_at - utcnow()).total_seconds()):
                    finish_cancelled(job_id)
                    return
            except Exception:  # noqa: BLE001 - the last attempt failed: execute_job logged it and marked the row
                return

    def shutdown(self) -> None:
        """Stop accepting jobs and wait for running ones."""
        self._pool.shutdown(wait=True, cancel_futures=False)


def _wait_unless_cancelled(job_id: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with UnitOfWork() as uow:
            if uow.session.scalar(select(Job.cancel_requested).where(Job.id == job_id)):
                return True
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    return False


class RQRunner:
    """RQ on Redis: jobs run in ``rq worker`` processes on any machine."""

    name = "rq"

    def __init__(self, settings: Settings | None = None, redis_url: str | None = None) -> None:
        # imported here: only deployments with REDIS_URL load redis and rq (about 0.2 s at start-up)
        from redis import Redis

        self.settings = settings or get_settings()
        url = redis_url or self.settings.redis_url
        if not url:
            raise InvalidInput("REDIS_URL is not set, so jobs cannot go to RQ.")
        self.connection = Redis.from_url(url)

    def enqueue(
        self,
        job_id: int,
        kind: JobKind,
        *,
        attempt: int = 1,
        at: datetime | None = None,
        policy: RetryPolicy | None = None,
    ) -> str | None:
        """Put attempt ``attempt`` of the job on its RQ queue (at ``at``, through RQ's scheduler, when given).

        No RQ ``Retry``: a failed attempt plans the next one itself at the configured delay (RQ's
        Retry picks the interval by the retries left, so it would wait the delays backwards). The
        retry policy travels with the job: this runner's settings unless ``policy`` says otherwise.
        """
        policy_args = (policy or RetryPolicy.of(self.settings)).as_args()
        from rq import Queue  # imported here: only deployments with REDIS_URL load rq

        rq_id = f"leadscout-job-{job_id}-{attempt}-{uuid.uuid4().hex[:6]}"
        queue = Queue(kind.queue, connection=self.connection)
        options: dict[str, Any] = {
            "job_id": rq_id,
            "job_timeout": self.settings.job_timeout_seconds,
            "result_ttl": 86400,
            "failure_ttl": 7 * 86400,
            "description": f"{kind.name} (job {job_id}, attempt {attempt})",
        }
        if at is not None and at > utcnow():
            queue.enqueue_at(at, "workers.tasks.run_job", job_id, kind.target, attempt, policy_args, **options)
        else:
            queue.enqueue("workers.tasks.run_job", job_id, kind.target, attempt, policy_args, **options)
        return rq_id

    def cancel_queued(self, rq_id: str | None) -> None:
        """Remove a not-yet-started job from its RQ queue."""
        if not rq_id:
            return
        # imported here: only deployments with REDIS_URL load rq
        from rq.exceptions import InvalidJobOperation, NoSuchJobError
        from rq.job import Job as RQJob

        try:
            RQJob.fetch(rq_id, connection=self.connection).cancel()
        except (NoSuchJobError, InvalidJobOperation):
            pass


_runner: Runner | None = None
_runner_lock = threading.Lock()


def get_runner() -> Runner:
    """The process-wide runner chosen by Settings (first use also recovers interrupted jobs)."""
    global _runner
    with _runner_lock:
        if _runner is None:
            settings = get_settings()
            _runner = RQRunner(settings) if settings.redis_enabled else EmbeddedRunner(settings)
            if _runner.name == "embedded":
                recover_interrupted_jobs()
        return _runner


def recover_interrupted_jobs(*, uow: UnitOfWork | None = None) -> int:
    """Mark embedded jobs left queued or running by a process that has stopped as failed."""
    uow = uow or UnitOfWork()
    with uow:
        result = uow.session.execute(
            update(Job)
            .where(
                Job.executor == "embedded",
                Job.status.in_(JOB_ACTIVE_STATUSES),
                Job.runner != INSTANCE_ID,
            )
            .values(
                status="failed",
                finished_at=utcnow(),
                error="Interrupted: the app process running this job stopped. Retry it.",
            )
        )
        uow.commit()
        return int(getattr(result, "rowcount", 0) or 0)
