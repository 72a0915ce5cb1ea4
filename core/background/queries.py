"""What the UI and the operator read about jobs: one job, the workspace's recent jobs, stalled ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import JOB_ACTIVE_STATUSES, Job, utcnow
from core.errors import NotFound


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
    retry_at: datetime | None = None  # while retrying: when the next attempt starts

    @property
    def state(self) -> str:
        """The status as the UI words it: a retrying job says when, after what, and which attempt comes next."""
        if self.status == "retrying" and self.retry_at is not None:
            reason = self.error.splitlines()[0][:200] if self.error else "an error"
            return f"retrying at {self.retry_at:%H:%M:%S} UTC (attempt {self.attempts + 1}) after: {reason}"
        return self.status

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


def view_of(job: Job) -> JobView:
    """The read view of a job row."""
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
        retry_at=job.retry_at,
    )


def get_job(*, actor: Actor, job_id: int, uow: UnitOfWork | None = None) -> JobView | None:
    """A job of the actor's workspace, or None."""
    uow = uow or UnitOfWork()
    with uow:
        job = uow.session.get(Job, job_id)
        if job is None or job.workspace_id != actor.workspace_id:
            return None
        return view_of(job)


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
        return [view_of(job) for job in rows]


def stale_jobs(*, older_than: timedelta = timedelta(minutes=10), uow: UnitOfWork | None = None) -> list[JobView]:
    """Running jobs (any workspace) with no heartbeat for a while: the operator's watch list."""
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.scalars(
            select(Job).where(Job.status == "running", Job.heartbeat_at < utcnow() - older_than)
        ).all()
        return [view_of(job) for job in rows]
