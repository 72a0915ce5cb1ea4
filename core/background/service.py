"""Submitting, cancelling and retrying jobs: what pages, the CLI and other jobs call."""

from __future__ import annotations

from typing import Any

from core.actor import Actor
from core.audit import audit
from core.background.execution import INSTANCE_ID, mark
from core.background.kinds import KINDS, JobKind
from core.background.queries import JobView, view_of
from core.background.runners import Runner, current_runner, get_runner
from core.db import UnitOfWork
from core.db.models import JOB_ACTIVE_STATUSES, Job, utcnow
from core.errors import InvalidInput, NotFound


def submit(
    *,
    kind: JobKind | str,
    args: dict[str, Any] | None = None,
    actor: Actor | None = None,
    workspace_id: int | None = None,
    runner: Runner | None = None,
    uow: UnitOfWork | None = None,
) -> int:
    """Record a job row and hand it to the runner; returns the job id."""
    spec = kind if isinstance(kind, JobKind) else KINDS.get(kind)
    if spec is None:
        raise InvalidInput(f"Unknown job kind '{kind}'.")
    runner = runner or current_runner.get() or get_runner()
    uow = uow or UnitOfWork()
    with uow:
        job = Job(
            workspace_id=actor.workspace_id if actor else workspace_id,
            kind=spec.name,
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
        mark(job_id, status="failed", error=f"Could not queue the job: {exc}", finished_at=utcnow())
        raise InvalidInput(f"The job queue is unreachable ({exc}). Check Redis on the System page.") from exc
    if rq_id:
        mark(job_id, rq_id=rq_id)
    return job_id


def cancel(*, actor: Actor, job_id: int, runner: Runner | None = None, uow: UnitOfWork | None = None) -> JobView:
    """Ask a job to stop; a queued job is cancelled at once, a running one at its next check."""
    actor.require_permission("job.manage")
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
        audit(uow, "job.cancelled", actor=actor, target_type="job", target_id=job_id)
        uow.commit()
        view = view_of(job)
    if queued and executor == "rq":
        (runner or get_runner()).cancel_queued(rq_id)
    return view


def retry(*, actor: Actor, job_id: int, runner: Runner | None = None, uow: UnitOfWork | None = None) -> int:
    """Submit a failed or cancelled job again as a new job with the same arguments."""
    actor.require_permission("job.manage")
    uow = uow or UnitOfWork()
    with uow:
        job = uow.session.get(Job, job_id)
        if job is None or job.workspace_id != actor.workspace_id:
            raise NotFound(f"Job {job_id} does not exist in this workspace.")
        if job.status not in ("failed", "cancelled"):
            raise InvalidInput(f"Only failed or cancelled jobs can be retried; job {job_id} is {job.status}.")
        kind, args = job.kind, dict(job.args)
    return submit(kind=kind, args=args, actor=actor, runner=runner)
