"""Operator views: is the database up, is Redis up, how deep are the queues, who is working."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from core.actor import Actor
from core.config import Settings, get_settings
from core.db import UnitOfWork, get_engine
from core.db.models import Job, MailboxCursor, utcnow
from core.monitoring import queues as queues_state
from core.monitoring import usage
from core.monitoring.queues import QueueInfo, WorkerInfo
from core.replies.imap import mailbox_name
from core.replies.inbox import unassigned_count

__all__ = ["Activity", "Check", "Health", "QueueInfo", "WorkerInfo", "activity", "health", "providers", "rq_jobs"]


@dataclass(frozen=True)
class Check:
    """One health check: what, whether it is fine, and the detail an operator needs."""

    name: str
    ok: bool
    detail: str
    latency_ms: float | None = None


@dataclass(frozen=True)
class Health:
    """Everything the System page shows at the top."""

    checks: tuple[Check, ...]
    mode: str
    queues: tuple[QueueInfo, ...] = ()
    workers: tuple[WorkerInfo, ...] = ()
    job_counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)


def mask_url(url: str) -> str:
    """A connection URL with its password replaced by ***."""

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a SQLAlchemy URL (e.g. redis://)
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
        return url


def check_database() -> Check:
    """Can we run a query on the configured database?"""
    settings = get_settings()
    started = time.perf_counter()
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return Check(
            "Database", False, f"{mask_url(settings.resolved_database_url)}: {type(exc).__name__}: {exc}"[:500]
        )
    backend = "SQLite" if settings.is_sqlite else "PostgreSQL"
    return Check(
        "Database",
        True,
        f"{backend} at {mask_url(settings.resolved_database_url)}, schema revision {revision}",
        (time.perf_counter() - started) * 1000,
    )


def check_redis(settings: Settings | None = None) -> Check:
    """Can we reach Redis (when configured)?"""
    settings = settings or get_settings()
    if not settings.redis_url:
        return Check("Job queue", True, "Embedded: jobs run inside the app process (set REDIS_URL to use RQ workers)")
    # imported here: redis and httpx load only where RQ or a receiver URL is configured
    from redis import Redis

    started = time.perf_counter()
    try:
        Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return Check("Job queue", False, f"Redis at {mask_url(settings.redis_url)} is unreachable: {exc}")
    return Check(
        "Job queue", True, f"RQ on Redis at {mask_url(settings.redis_url)}", (time.perf_counter() - started) * 1000
    )


def rq_overview(settings: Settings | None = None) -> tuple[tuple[QueueInfo, ...], tuple[WorkerInfo, ...]]:
    """Queue depths and workers as RQ sees them (empty without Redis)."""
    settings = settings or get_settings()
    if not settings.redis_url:
        return (), ()
    connection = queues_state.connect(settings)
    return queues_state.queue_states(connection=connection), queues_state.workers(connection=connection)


def check_receiver(settings: Settings | None = None) -> Check | None:
    """Does the receiver answer GET /healthz (None when RECEIVER_URL is empty)?"""
    # imported here: redis and httpx load only where RQ or a receiver URL is configured
    import httpx

    settings = settings or get_settings()
    if not settings.health_base_url:
        return None
    url = settings.health_base_url.rstrip("/") + "/healthz"
    started = time.perf_counter()
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError as exc:
        return Check(
            "Receiver", False, f"{url} is unreachable ({type(exc).__name__}): unsubscribe links and webhooks fail"
        )
    if response.status_code != 200:
        return Check("Receiver", False, f"{url} answered {response.status_code}: {response.text[:200]}")
    return Check("Receiver", True, f"{url} is up", (time.perf_counter() - started) * 1000)


def check_mailbox(settings: Settings | None = None, now: datetime | None = None) -> Check | None:
    """Whether replies are still being read (None when no mailbox is set up): a reader that stopped means
    follow-ups keep going to people who answered. Late after three polls (at least 10 minutes)."""
    settings = settings or get_settings()
    if not settings.imap_enabled:
        return None
    now = now or utcnow()
    name = mailbox_name(settings)
    with UnitOfWork() as uow:
        read_at = uow.session.scalar(select(MailboxCursor.updated_at).where(MailboxCursor.mailbox == name))
        failed = uow.session.execute(
            select(Job.status, Job.error).where(Job.kind == "replies.poll").order_by(Job.id.desc()).limit(1)
        ).first()
    unmatched = unassigned_count()
    error = f" The last read failed: {failed.error[:300]}" if failed is not None and failed.status == "failed" else ""
    kept = f"; {unmatched} mail(s) matched no workspace (they stay in the mailbox)" if unmatched else ""
    if read_at is None:
        return Check("Mailbox", False, f"{name} has not been read yet: is a worker running?{error}")
    if read_at.tzinfo is None:
        read_at = read_at.replace(tzinfo=now.tzinfo)
    late = timedelta(seconds=max(3 * settings.imap_poll_seconds, 600))
    ago = max(0, int((now - read_at).total_seconds() // 60))
    if now - read_at > late:
        return Check(
            "Mailbox",
            False,
            f"{name} was last read {ago} min ago: replies are not being read, so sequences do not stop on them."
            f"{error}{kept}",
        )
    return Check("Mailbox", True, f"{name} read {ago} min ago{kept}")


def health(*, actor: Actor | None = None) -> Health:
    """Database and queue checks, RQ queues and workers, and the workspace's job counts.

    Server details (database path or URL, Redis URL, queues, workers) only for actors allowed
    ``system.details``; others see each check's name and whether it passed.
    """
    settings = get_settings()
    checks = [check_database(), check_redis(settings)]
    receiver = check_receiver(settings)
    queues: tuple[QueueInfo, ...] = ()
    workers: tuple[WorkerInfo, ...] = ()
    if settings.redis_url and checks[1].ok:
        queues, workers = rq_overview(settings)
        if not workers:
            checks.append(Check("Workers", False, "No rq worker is running: start one with `make worker`."))
        else:
            checks.append(Check("Workers", True, f"{len(workers)} worker(s) alive"))
    if receiver is not None:
        checks.append(receiver)
    if checks[0].ok and (mailbox := check_mailbox(settings)) is not None:
        checks.append(mailbox)
    counts: dict[str, int] = {}
    if actor is not None and checks[0].ok:
        with UnitOfWork() as uow:
            rows = uow.session.execute(
                select(Job.status, func.count()).where(Job.workspace_id == actor.workspace_id).group_by(Job.status)
            ).all()
            counts = {status: int(count) for status, count in rows}
    if actor is not None and not actor.may("system.details"):
        # Members see whether things work, not where the server keeps them (paths, URLs, hosts).
        checks = [Check(c.name, c.ok, "Working" if c.ok else "Not working: ask an owner or admin") for c in checks]
        queues, workers = (), ()
    return Health(
        checks=tuple(checks),
        mode="rq" if settings.redis_url else "embedded",
        queues=queues,
        workers=workers,
        job_counts=counts,
    )


@dataclass(frozen=True)
class Activity:
    """The workspace's recent work and spend, and the database's size."""

    jobs_per_hour: list[usage.HourCount]
    month: usage.MonthUsage
    database_bytes: int | None


def activity(*, actor: Actor) -> Activity:
    """Jobs per hour over the last day, this month's LLM and search use against budgets, database size."""
    return Activity(
        jobs_per_hour=usage.jobs_per_hour(workspace_id=actor.workspace_id),
        month=usage.month_usage(workspace_id=actor.workspace_id),
        database_bytes=usage.database_size() if actor.may("system.details") else None,
    )


def rq_jobs(*, actor: Actor, registry: queues_state.RegistryName) -> list[queues_state.RQJobInfo]:
    """The workspace's jobs in RQ's failed or started registry (empty without Redis)."""
    actor.require_permission("system.details")
    if not get_settings().redis_url:
        return []
    return queues_state.registry_jobs(actor=actor, registry=registry, connection=queues_state.connect())


def requeue_rq_job(*, actor: Actor, rq_id: str) -> None:
    """Put a failed RQ job back on its queue (admins only)."""
    actor.require_permission("system.rq")
    queues_state.requeue_failed(actor=actor, rq_id=rq_id, connection=queues_state.connect())


def delete_rq_job(*, actor: Actor, rq_id: str) -> None:
    """Delete a failed RQ job from Redis (admins only)."""
    actor.require_permission("system.rq")
    queues_state.delete_failed(actor=actor, rq_id=rq_id, connection=queues_state.connect())


@dataclass(frozen=True)
class ProviderStatus:
    """A third-party integration as the Settings page shows it."""

    name: str
    purpose: str
    configured: bool
    detail: str


def _mask(secret: object) -> str:
    value = secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret or "")
    if not value:
        return "not set"
    return f"••••{value[-4:]}" if len(value) > 8 else "••••"


def providers(settings: Settings | None = None) -> list[ProviderStatus]:
    """Which providers are configured, with keys masked."""
    s = settings or get_settings()
    return [
        ProviderStatus(
            "OpenAI",
            "strategy, summaries, drafts",
            s.openai_enabled,
            f"key {_mask(s.openai_api_key)} · {s.openai_model} · {s.openai_base_url}",
        ),
        ProviderStatus(
            "Brave Search",
            "finding companies",
            s.brave_enabled,
            f"key {_mask(s.brave_api_key)} · {s.search_rate_per_second}/s",
        ),
        ProviderStatus(
            "SMTP mailbox",
            "one-to-one email (default)",
            s.smtp_enabled,
            f"{s.smtp_user or '-'} @ {s.smtp_host or 'not set'}:{s.smtp_port} · password {_mask(s.smtp_password)}",
        ),
        ProviderStatus("SendGrid", "email (with consent)", s.sendgrid_enabled, f"key {_mask(s.sendgrid_api_key)}"),
        ProviderStatus(
            "Mailgun",
            "email (with consent)",
            s.mailgun_enabled,
            f"key {_mask(s.mailgun_api_key)} · domain {s.mailgun_domain or 'not set'}",
        ),
        ProviderStatus(
            "Twilio",
            "SMS",
            s.twilio_enabled,
            f"SID {s.twilio_account_sid or 'not set'} · token {_mask(s.twilio_auth_token)} · from {s.twilio_from or 'not set'}",
        ),
        ProviderStatus(
            "Supabase Auth",
            "sign-in with Google/Facebook",
            s.supabase_enabled,
            f"{s.supabase_url or 'not set'} · anon key {_mask(s.supabase_anon_key)}",
        ),
    ]
