"""One attempt of a job: the state machine of its row (queued → running → succeeded | failed |
retrying | cancelled) around a call of its registered function."""

from __future__ import annotations

import importlib
import logging
import os
import uuid
from typing import Any

from sqlalchemy import update

from core.background.context import JobCancelled, JobContext, JobFunction
from core.background.kinds import KINDS
from core.db import UnitOfWork
from core.db.models import Job, utcnow
from core.errors import InvalidInput, LeadScoutError, NotFound, PermissionDenied
from core.logs import log_context

log = logging.getLogger(__name__)

PERMANENT_ERRORS = (InvalidInput, NotFound, PermissionDenied)
# Which process runs (or ran) a job: the embedded runner recovers only other processes' jobs.
INSTANCE_ID = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def mark(job_id: int, **values: Any) -> None:
    """Set columns of a job row in a transaction of its own."""
    with UnitOfWork() as uow:
        uow.session.execute(update(Job).where(Job.id == job_id).values(**values))
        uow.commit()


def finish_cancelled(job_id: int) -> None:
    """Record that a job stopped because it was cancelled."""
    mark(job_id, status="cancelled", finished_at=utcnow(), message="Cancelled")


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


def execute_job(job_id: int, *, target: str = "", final_attempt: bool = True) -> None:
    """Run one attempt of a job; raises on a retryable failure so the runner can retry.

    The function comes from the row's kind, so a job queued before an upgrade moved its function
    still runs; ``target`` is used only for a kind this version does not know.
    """
    with log_context(job_id=job_id):
        _execute_job(job_id, target=target, final_attempt=final_attempt)


def _start(job_id: int) -> tuple[str, dict[str, Any], int | None] | None:
    """Mark the job running; None when there is nothing to run (gone, done or cancelled)."""
    with UnitOfWork() as uow:
        job = uow.session.get(Job, job_id)
        if job is None:
            log.warning("job %s vanished before it ran", job_id)
            return None
        if job.status in ("succeeded", "cancelled"):
            return None  # already done: running twice is a no-op
        if job.cancel_requested:
            job.status, job.finished_at, job.message = "cancelled", utcnow(), "Cancelled"
            uow.commit()
            return None
        job.status = "running"
        job.attempts += 1
        job.started_at = job.started_at or utcnow()
        job.heartbeat_at = utcnow()
        job.error = ""
        if job.executor == "rq":
            job.runner = INSTANCE_ID
        started = (job.kind, dict(job.args), job.workspace_id)
        uow.commit()
        return started


def _execute_job(job_id: int, *, target: str, final_attempt: bool) -> None:
    started = _start(job_id)
    if started is None:
        return
    kind, args, workspace_id = started
    target = KINDS[kind].target if kind in KINDS else target
    context = JobContext(job_id, workspace_id, uow_factory=UnitOfWork, final_attempt=final_attempt)
    try:
        result = resolve(target)(context, args)
    except JobCancelled:
        finish_cancelled(job_id)
        return
    except PERMANENT_ERRORS as exc:
        mark(job_id, status="failed", error=describe_error(exc), finished_at=utcnow())
        return
    except Exception as exc:
        status = "failed" if final_attempt else "retrying"
        log.exception("job %s (%s) failed: %s", job_id, target, status)
        mark(
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
