"""RQ as the operator sees it: queue depths and ages, workers, started/failed jobs, retry and delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select, update

from core.actor import Actor
from core.background import QUEUES
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import Job
from core.errors import InvalidInput, NotFound
from core.logs import redact

if TYPE_CHECKING:
    from redis import Redis

RegistryName = Literal["failed", "started"]


@dataclass(frozen=True)
class WorkerInfo:
    """An RQ worker as Redis last heard of it."""

    name: str
    state: str
    queues: tuple[str, ...]
    last_heartbeat: datetime | None
    current_job: str | None
    hostname: str | None = None

    @property
    def busy(self) -> bool:
        """True while the worker is running a job."""
        return self.state == "busy" or bool(self.current_job)


@dataclass(frozen=True)
class QueueInfo:
    """An RQ queue: waiting, running, failed and scheduled counts, and its oldest waiting job."""

    name: str
    queued: int
    started: int
    failed: int
    scheduled: int
    oldest_queued_at: datetime | None = None

    def oldest_age_seconds(self, now: datetime | None = None) -> float | None:
        """How long the oldest waiting job has waited, in seconds."""
        if self.oldest_queued_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.oldest_queued_at).total_seconds()


@dataclass(frozen=True)
class RQJobInfo:
    """A job in RQ's started or failed registry, with our job id and its traceback."""

    rq_id: str
    queue: str
    registry: str
    job_id: int | None
    description: str
    enqueued_at: datetime | None
    ended_at: datetime | None
    traceback: str


def connect(settings: Settings | None = None) -> Redis:
    """A Redis connection for RQ; ``InvalidInput`` when REDIS_URL is not set."""
    # imported here: only deployments with REDIS_URL load redis and rq (about 0.2 s)
    from redis import Redis

    url = (settings or get_settings()).redis_url
    if not url:
        raise InvalidInput("REDIS_URL is not set: jobs run inside the app, there are no RQ queues.")
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def queue_states(*, connection: Redis) -> tuple[QueueInfo, ...]:
    """Every LeadScout queue with its registries' sizes and the oldest waiting job's enqueue time."""
    # imported here: only deployments with REDIS_URL load redis and rq (about 0.2 s)
    from rq import Queue
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    states = []
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        oldest = None
        for rq_id in queue.get_job_ids(0, 5):
            job = queue.fetch_job(rq_id)
            if job is not None and job.enqueued_at is not None:
                oldest = _aware(job.enqueued_at)
                break
        states.append(
            QueueInfo(
                name=name,
                queued=queue.count,
                started=StartedJobRegistry(queue=queue).count,
                failed=FailedJobRegistry(queue=queue).count,
                scheduled=ScheduledJobRegistry(queue=queue).count,
                oldest_queued_at=oldest,
            )
        )
    return tuple(states)


def workers(*, connection: Redis) -> tuple[WorkerInfo, ...]:
    """Every RQ worker registered in Redis (dead ones expire with their heartbeat)."""
    # imported here: only deployments with REDIS_URL load redis and rq (about 0.2 s)
    from rq import Worker

    return tuple(
        WorkerInfo(
            name=worker.name,
            state=str(getattr(worker.get_state(), "value", worker.get_state())),
            queues=tuple(worker.queue_names()),
            last_heartbeat=_aware(worker.last_heartbeat),
            current_job=worker.get_current_job_id(),
            hostname=worker.hostname,
        )
        for worker in Worker.all(connection=connection)
    )


def _traceback(job: object) -> str:
    result = job.latest_result() if hasattr(job, "latest_result") else None
    text = getattr(result, "exc_string", None) or getattr(job, "exc_info", None) or ""
    return redact(str(text))


def _workspace_rq_ids(actor: Actor, rq_ids: list[str]) -> set[str]:
    if not rq_ids:
        return set()
    with UnitOfWork() as uow:
        found = uow.session.scalars(
            select(Job.rq_id).where(Job.workspace_id == actor.workspace_id, Job.rq_id.in_(rq_ids))
        ).all()
    return {rq_id for rq_id in found if rq_id}


def registry_jobs(*, actor: Actor, registry: RegistryName, connection: Redis, limit: int = 50) -> list[RQJobInfo]:
    """The actor's workspace's jobs in RQ's failed or started registries, newest first."""
    # imported here: only deployments with REDIS_URL load redis and rq (about 0.2 s)
    from rq import Queue
    from rq.exceptions import NoSuchJobError
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    registry_class = FailedJobRegistry if registry == "failed" else StartedJobRegistry
    found: list[RQJobInfo] = []
    for name in QUEUES:
        reg = registry_class(queue=Queue(name, connection=connection))
        ids = reg.get_job_ids(0, limit - 1, desc=True)
        mine = _workspace_rq_ids(actor, ids)
        for rq_id in ids:
            if rq_id not in mine:
                continue
            try:
                job = reg.job_class.fetch(rq_id, connection=connection)
            except NoSuchJobError:
                continue  # expired between listing and fetching
            found.append(
                RQJobInfo(
                    rq_id=rq_id,
                    queue=name,
                    registry=registry,
                    job_id=int(job.args[0]) if job.args and isinstance(job.args[0], int) else None,
                    description=job.description or "",
                    enqueued_at=_aware(job.enqueued_at),
                    ended_at=_aware(job.ended_at),
                    traceback=_traceback(job) if registry == "failed" else "",
                )
            )
    return sorted(found, key=lambda j: j.enqueued_at or datetime.min.replace(tzinfo=UTC), reverse=True)[:limit]


def _failed_registry_of(actor: Actor, rq_id: str, connection: Redis):  # noqa: ANN202 - rq type
    # imported here: only deployments with REDIS_URL load redis and rq (about 0.2 s)
    from rq import Queue
    from rq.registry import FailedJobRegistry

    if rq_id not in _workspace_rq_ids(actor, [rq_id]):
        raise NotFound(f"RQ job {rq_id} is not a job of this workspace.")
    for name in QUEUES:
        registry = FailedJobRegistry(queue=Queue(name, connection=connection))
        if rq_id in registry:
            return registry
    raise NotFound(f"RQ job {rq_id} is not in a failed registry any more.")


def requeue_failed(*, actor: Actor, rq_id: str, connection: Redis) -> None:
    """Put a failed RQ job back on its queue (admins only); its job row shows it queued again."""
    actor.require_permission("system.rq")
    _failed_registry_of(actor, rq_id, connection).requeue(rq_id)
    with UnitOfWork() as uow:
        uow.session.execute(
            update(Job)
            .where(Job.rq_id == rq_id, Job.workspace_id == actor.workspace_id)
            .values(status="queued", error="", finished_at=None, message="Requeued from the System page")
        )
        uow.commit()


def delete_failed(*, actor: Actor, rq_id: str, connection: Redis) -> None:
    """Remove a failed RQ job and its data from Redis (admins only); the job row stays failed."""
    actor.require_permission("system.rq")
    _failed_registry_of(actor, rq_id, connection).remove(rq_id, delete_job=True)
