"""Background jobs: submit, run, report progress, cancel, retry — on RQ or in-process.

A job is a row in ``job`` (the UI polls it) plus a registered function ``fn(ctx, args)``.
With ``REDIS_URL`` set, jobs go to RQ (queues crawl, llm, send, default) and run in
``rq worker``; otherwise a bounded thread pool in the UI process runs the same functions.
Job functions report progress through ``JobContext``, stop when it says they are cancelled,
and must be safe to run twice (a crashed worker's job runs again).
"""

from __future__ import annotations

import contextvars
import importlib
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update

from core.auth.models import Actor
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import JOB_ACTIVE_STATUSES, AuditEvent, Job, utcnow
from core.errors import InvalidInput, LeadScoutError, NotFound, PermissionDenied
from core.logs import log_context

log = logging.getLogger(__name__)

QUEUES = ("crawl", "llm", "send", "default")
PERMANENT_ERRORS = (InvalidInput, NotFound, PermissionDenied)
INSTANCE_ID = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

JobFunction = Callable[["JobContext", dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class JobKind:
    """A registered kind of job: where its function lives and which queue runs it."""

    name: str
    target: str  # "package.module:function"
    queue: str = "default"


_KINDS: dict[str, JobKind] = {}
# The runner executing the current job: jobs a job submits run on the same runner.
_current_runner: contextvars.ContextVar[Runner | None] = contextvars.ContextVar("leadscout_runner", default=None)


def register_kind(name: str, target: str, *, queue: str = "default") -> None:
    """Make ``name`` submittable; ``target`` is imported lazily by whichever process runs it."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    _KINDS[name] = JobKind(name=name, target=target, queue=queue)


# Every kind of job, in one place, so any process (an RQ work horse included) can submit any of
# them without first importing the module that runs it.
for _name, _target, _queue in (
    ("system.selftest", "core.jobs_builtin:selftest", "default"),
    ("auth.purge_sessions", "core.jobs_builtin:purge_sessions", "default"),
    ("runs.search", "core.runs.jobs:search_job", "default"),
    ("runs.crawl_batch", "core.runs.jobs:crawl_batch_job", "crawl"),
    ("runs.summarize", "core.runs.jobs:summarize_job", "llm"),
    ("scoring.score_leads", "core.scoring.service:score_leads_job", "llm"),
    ("scoring.rescore_campaign", "core.scoring.service:rescore_campaign_job", "llm"),
    ("leads.import_csv", "core.leads.csv_import:import_csv_job", "default"),
    ("outreach.send", "core.outreach.sender:send_job", "send"),
    ("outreach.draft", "core.outreach.drafts:draft_job", "llm"),
):
    register_kind(_name, _target, queue=_queue)


class JobCancelled(Exception):
    """Raised inside a job function when the user asked to cancel it."""


@dataclass(frozen=True)
class JobView:
    """What the UI shows about a job."""

    id: int
    workspace_id: int | None
    kind: str
    queue: str
    status: str
    progress_done: int
    progress_total: int | None
    message: str
    error: str
    attempts: int
    executor: str
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    result: dict[str, Any] | None

    @property
    def fraction(self) -> float | None:
        """Progress in [0, 1], or None when the total is unknown."""
        if not self.progress_total:
            return None
        return min(1.0, self.progress_done / self.progress_total)

    @property
    def is_active(self) -> bool:
        """True while the job is queued, running or waiting to retry."""
        return self.status in JOB_ACTIVE_STATUSES


def _view(job: Job) -> JobView:
    return JobView(
        id=job.id,
        workspace_id=job.workspace_id,
        kind=job.kind,
        queue=job.queue,
        status=job.status,
        progress_done=job.progress_done,
        progress_total=job.progress_total,
        message=job.message,
        error=job.error,
        attempts=job.attempts,
        executor=job.executor,
        cancel_requested=job.cancel_requested,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        heartbeat_at=job.heartbeat_at,
        result=job.result,
    )


class JobContext:
    """Handed to a job function: its arguments, progress reporting and the cancel flag."""

    def __init__(self, job_id: int, workspace_id: int | None, *, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.job_id = job_id
        self.workspace_id = workspace_id
        self._uow_factory = uow_factory
        self._last_write = 0.0
        self._last_cancel_check = 0.0
        self._cancelled = False

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record progress (throttled to a few writes a second) and stop if cancelled."""
        now = time.monotonic()
        final = total is not None and done >= total
        if final or now - self._last_write >= 0.25:
            self._last_write = now
            values: dict[str, Any] = {"progress_done": done, "heartbeat_at": utcnow()}
            if total is not None:
                values["progress_total"] = total
            if message:
                values["message"] = message[:500]
            with self._uow_factory() as uow:
                uow.session.execute(update(Job).where(Job.id == self.job_id).values(**values))
                uow.commit()
        self.check_cancelled()

    def is_cancelled(self) -> bool:
        """True once someone asked to cancel this job (read at most every half second)."""
        now = time.monotonic()
        if not self._cancelled and now - self._last_cancel_check >= 0.5:
            self._last_cancel_check = now
            with self._uow_factory() as uow:
                self._cancelled = bool(uow.session.scalar(select(Job.cancel_requested).where(Job.id == self.job_id)))
        return self._cancelled

    def check_cancelled(self) -> None:
        """Raise ``JobCancelled`` when the job was cancelled."""
        if self.is_cancelled():
            raise JobCancelled()

    def sleep(self, seconds: float) -> None:
        """Wait, waking early (with ``JobCancelled``) when the job is cancelled."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.check_cancelled()
            time.sleep(min(0.2, left))


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
        _current_runner.set(self)
        retries = self.settings.job_retries
        delays = self.settings.job_retry_delays
        for attempt in range(retries + 1):
            if attempt:
                delay = delays[min(attempt - 1, len(delays) - 1)] * random.uniform(0.8, 1.2)
                if _wait_unless_cancelled(job_id, delay):
                    _finish_cancelled(job_id)
                    return
            try:
                execute_job(job_id, target=target, final_attempt=attempt == retries)
                return
            except Exception:  # noqa: BLE001 - recorded on the row by execute_job; retry
                continue

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
        from redis import Redis

        self.settings = settings or get_settings()
        url = redis_url or self.settings.redis_url
        if not url:
            raise InvalidInput("REDIS_URL is not set, so jobs cannot go to RQ.")
        self.connection = Redis.from_url(url)

    def enqueue(self, job_id: int, kind: JobKind) -> str | None:
        """Put the job on its RQ queue with timeout and retries from Settings."""
        from rq import Queue, Retry

        retry = None
        if self.settings.job_retries:
            retry = Retry(max=self.settings.job_retries, interval=self.settings.job_retry_delays)
        rq_id = f"leadscout-job-{job_id}-{uuid.uuid4().hex[:6]}"
        Queue(kind.queue, connection=self.connection).enqueue(
            "workers.tasks.run_job",
            job_id,
            kind.target,
            job_id=rq_id,
            job_timeout=self.settings.job_timeout_seconds,
            retry=retry,
            result_ttl=86400,
            failure_ttl=7 * 86400,
            description=f"{kind.name} (job {job_id})",
        )
        return rq_id

    def cancel_queued(self, rq_id: str | None) -> None:
        """Remove a not-yet-started job from its RQ queue."""
        if not rq_id:
            return
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


def submit(
    *,
    kind: str,
    args: dict[str, Any] | None = None,
    actor: Actor | None = None,
    workspace_id: int | None = None,
    runner: Runner | None = None,
    uow: UnitOfWork | None = None,
) -> int:
    """Record a job row and hand it to the runner; returns the job id."""
    spec = _KINDS.get(kind)
    if spec is None:
        raise InvalidInput(f"Unknown job kind '{kind}'.")
    runner = runner or _current_runner.get() or get_runner()
    uow = uow or UnitOfWork()
    with uow:
        job = Job(
            workspace_id=actor.workspace_id if actor else workspace_id,
            kind=kind,
            queue=spec.queue,
            args=args or {},
            status="queued",
            executor=runner.name,
            runner=INSTANCE_ID if runner.name == "embedded" else "",
            created_by=actor.user_id if actor else None,
            heartbeat_at=utcnow(),
        )
        uow.session.add(job)
        uow.commit()
        job_id = job.id
    try:
        rq_id = runner.enqueue(job_id, spec)
    except Exception as exc:  # Redis down: say so on the row and to the caller
        _mark(job_id, status="failed", error=f"Could not queue the job: {exc}", finished_at=utcnow())
        raise InvalidInput(f"The job queue is unreachable ({exc}). Check Redis on the System page.") from exc
    if rq_id:
        _mark(job_id, rq_id=rq_id)
    return job_id


def _mark(job_id: int, **values: Any) -> None:
    with UnitOfWork() as uow:
        uow.session.execute(update(Job).where(Job.id == job_id).values(**values))
        uow.commit()


def _finish_cancelled(job_id: int) -> None:
    _mark(job_id, status="cancelled", finished_at=utcnow(), message="Cancelled")


def _resolve(target: str) -> JobFunction:
    module_name, _, function_name = target.partition(":")
    function: JobFunction = getattr(importlib.import_module(module_name), function_name)
    return function


def describe_error(exc: BaseException) -> str:
    """A one-line description of a job's failure, fit for the job table."""
    if isinstance(exc, LeadScoutError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:2000]


def execute_job(job_id: int, *, target: str, final_attempt: bool = True) -> None:
    """Run one attempt of a job; raises on a retryable failure so the runner can retry."""
    with log_context(job_id=job_id):
        _execute_job(job_id, target=target, final_attempt=final_attempt)


def _execute_job(job_id: int, *, target: str, final_attempt: bool) -> None:
    with UnitOfWork() as uow:
        job = uow.session.get(Job, job_id)
        if job is None:
            log.warning("job %s vanished before it ran", job_id)
            return
        if job.status in ("succeeded", "cancelled"):
            return  # already done: running twice is a no-op
        if job.cancel_requested:
            job.status, job.finished_at, job.message = "cancelled", utcnow(), "Cancelled"
            uow.commit()
            return
        job.status = "running"
        job.attempts += 1
        job.started_at = job.started_at or utcnow()
        job.heartbeat_at = utcnow()
        job.error = ""
        if job.executor == "rq":
            job.runner = INSTANCE_ID
        args, workspace_id = dict(job.args), job.workspace_id
        uow.commit()
    context = JobContext(job_id, workspace_id, uow_factory=UnitOfWork)
    try:
        result = _resolve(target)(context, args)
    except JobCancelled:
        _finish_cancelled(job_id)
        return
    except PERMANENT_ERRORS as exc:
        _mark(job_id, status="failed", error=describe_error(exc), finished_at=utcnow())
        return
    except Exception as exc:
        status = "failed" if final_attempt else "retrying"
        log.exception("job %s (%s) failed: %s", job_id, target, status)
        _mark(
            job_id,
            status=status,
            error=describe_error(exc),
            message="Retrying after an error" if status == "retrying" else "Failed",
            finished_at=utcnow() if status == "failed" else None,
        )
        raise
    with UnitOfWork() as uow:
        job = uow.session.get(Job, job_id)
        if job is not None:
            job.status = "succeeded"
            job.finished_at = utcnow()
            job.result = result or {}
            if job.progress_total is not None:
                job.progress_done = job.progress_total
            uow.commit()


def get_job(*, actor: Actor, job_id: int, uow: UnitOfWork | None = None) -> JobView | None:
    """A job of the actor's workspace, or None."""
    uow = uow or UnitOfWork()
    with uow:
        job = uow.session.get(Job, job_id)
        if job is None or job.workspace_id != actor.workspace_id:
            return None
        return _view(job)


def get_job_or_raise(*, actor: Actor, job_id: int, uow: UnitOfWork | None = None) -> JobView:
    """A job of the actor's workspace; ``NotFound`` otherwise."""
    view = get_job(actor=actor, job_id=job_id, uow=uow)
    if view is None:
        raise NotFound(f"Job {job_id} does not exist in this workspace.")
    return view


def list_jobs(
    *, actor: Actor, status: str | None = None, limit: int = 200, uow: UnitOfWork | None = None
) -> list[JobView]:
    """The workspace's most recent jobs, newest first."""
    uow = uow or UnitOfWork()
    with uow:
        query = select(Job).where(Job.workspace_id == actor.workspace_id)
        if status:
            query = query.where(Job.status == status)
        rows = uow.session.scalars(query.order_by(Job.id.desc()).limit(limit)).all()
        return [_view(job) for job in rows]


def cancel(*, actor: Actor, job_id: int, runner: Runner | None = None, uow: UnitOfWork | None = None) -> JobView:
    """Ask a job to stop; a queued job is cancelled at once, a running one at its next check."""
    uow = uow or UnitOfWork()
    with uow:
        job = uow.session.get(Job, job_id)
        if job is None or job.workspace_id != actor.workspace_id:
            raise NotFound(f"Job {job_id} does not exist in this workspace.")
        if job.status not in JOB_ACTIVE_STATUSES:
            raise InvalidInput(f"Job {job_id} has already {job.status}; there is nothing to cancel.")
        job.cancel_requested = True
        queued = job.status in ("queued", "retrying")
        if queued:
            job.status, job.finished_at, job.message = "cancelled", utcnow(), "Cancelled before it started"
        rq_id, executor = job.rq_id, job.executor
        uow.session.add(
            AuditEvent(
                workspace_id=actor.workspace_id,
                user_id=actor.user_id,
                action="job.cancelled",
                target_type="job",
                target_id=job_id,
            )
        )
        uow.commit()
        view = _view(job)
    if queued and executor == "rq":
        (runner or get_runner()).cancel_queued(rq_id)
    return view


def retry(*, actor: Actor, job_id: int, runner: Runner | None = None, uow: UnitOfWork | None = None) -> int:
    """Submit a failed or cancelled job again as a new job with the same arguments."""
    uow = uow or UnitOfWork()
    with uow:
        job = uow.session.get(Job, job_id)
        if job is None or job.workspace_id != actor.workspace_id:
            raise NotFound(f"Job {job_id} does not exist in this workspace.")
        if job.status not in ("failed", "cancelled"):
            raise InvalidInput(f"Only failed or cancelled jobs can be retried; job {job_id} is {job.status}.")
        kind, args = job.kind, dict(job.args)
    return submit(kind=kind, args=args, actor=actor, runner=runner)


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


def stale_jobs(*, older_than: timedelta = timedelta(minutes=10), uow: UnitOfWork | None = None) -> list[JobView]:
    """Running jobs (any workspace) with no heartbeat for a while: the operator's watch list."""
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.scalars(
            select(Job).where(Job.status == "running", Job.heartbeat_at < utcnow() - older_than)
        ).all()
        return [_view(job) for job in rows]
