"""``python -m core check``'s brain: what is wrong right now, and telling a Slack-compatible webhook."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.background import stale_jobs
from core.config import Settings, get_settings
from core.db.models import utcnow
from core.errors import ExternalServiceError
from core.monitoring import queues, usage
from core.monitoring.health import check_database, check_mailbox, check_receiver
from core.outreach.guard import paused_senders

BUDGET_ACTIVITY_WINDOW = timedelta(days=1)  # finished campaigns near their budget are not news


@dataclass(frozen=True)
class Problem:
    """One reason the system needs an operator: which check, and what it saw."""

    check: str
    detail: str


def _rq_problems(settings: Settings, now: datetime) -> list[Problem]:
    # imported here: redis and httpx load only where RQ or an alert webhook is configured
    from redis.exceptions import RedisError

    try:
        connection = queues.connect(settings)
        states = queues.queue_states(connection=connection)
        alive = queues.workers(connection=connection)
    except RedisError as exc:
        return [Problem("redis", f"Redis is unreachable: {type(exc).__name__}: {exc}")]
    problems = []
    if not alive:
        problems.append(Problem("workers", "No RQ worker is alive, so no job runs (start `make worker`)."))
    limit = settings.alert_queue_stuck_minutes * 60
    for state in states:
        age = state.oldest_age_seconds(now)
        busy = any(w.busy and state.name in w.queues for w in alive)
        if age is not None and age > limit and not busy:
            problems.append(
                Problem(
                    "queue",
                    f"Queue '{state.name}' is stuck: {state.queued} job(s) waiting, the oldest for "
                    f"{age / 60:.0f} min, and no worker on it is busy.",
                )
            )
    return problems


def _database_problems(settings: Settings, now: datetime) -> list[Problem]:

    problems = []
    since = now - timedelta(minutes=settings.alert_window_minutes)
    window = f"the last {settings.alert_window_minutes} min"
    finished, failed = usage.job_outcomes(since=since)
    if finished >= settings.alert_min_samples and failed / finished >= settings.alert_failure_rate:
        problems.append(Problem("failures", f"{failed} of {finished} jobs finished in {window} failed."))
    for provider in usage.provider_calls(since=since):
        if provider.calls >= settings.alert_min_samples and provider.error_rate >= settings.alert_failure_rate:
            problems.append(
                Problem(
                    "provider",
                    f"{provider.provider} keeps failing: {provider.errors} of {provider.calls} calls in {window}.",
                )
            )
    for budget in usage.campaign_budgets(workspace_id=None, active_since=now - BUDGET_ACTIVITY_WINDOW):
        if budget.fraction >= settings.alert_budget_fraction:
            problems.append(
                Problem(
                    "budget",
                    f"Campaign {budget.campaign_id} '{budget.name}' has used {budget.fraction:.0%} of its LLM budget "
                    f"(${budget.spent_usd:.2f} of ${budget.budget_usd or 0:.2f}, "
                    f"{budget.spent_tokens:,} of {budget.budget_tokens or 0:,} tokens).",
                )
            )
    for sender in paused_senders(workspace_id=None):
        problems.append(Problem("bounce_guard", f"Workspace {sender.workspace_id}: {sender.message}"))
    stale = stale_jobs(older_than=timedelta(minutes=settings.alert_stale_job_minutes))
    if stale:
        ids = ", ".join(str(job.id) for job in stale[:10])
        problems.append(
            Problem(
                "stale",
                f"{len(stale)} running job(s) without a heartbeat for {settings.alert_stale_job_minutes} min: {ids}.",
            )
        )
    return problems


def find_problems(*, settings: Settings | None = None, now: datetime | None = None) -> list[Problem]:
    """Everything wrong right now: database, receiver, Redis and workers, queues, failures, budgets,
    senders the bounce guard paused, a mailbox whose replies are no longer read."""

    settings = settings or get_settings()
    now = now or utcnow()
    problems = []
    database = check_database()
    if not database.ok:
        problems.append(Problem("database", database.detail))
    receiver = check_receiver(settings)
    if receiver is not None and not receiver.ok:
        problems.append(Problem("receiver", receiver.detail))
    if settings.redis_url:
        problems += _rq_problems(settings, now)
    if database.ok:
        problems += _database_problems(settings, now)
        mailbox = check_mailbox(settings, now)
        if mailbox is not None and not mailbox.ok:
            problems.append(Problem("mailbox", mailbox.detail))
    return problems


def notify(problems: list[Problem], *, settings: Settings | None = None) -> None:
    """Post the problems to ALERT_WEBHOOK_URL as Slack-compatible JSON ``{"text": ...}``."""
    # imported here: redis and httpx load only where RQ or an alert webhook is configured
    import httpx

    settings = settings or get_settings()
    if settings.alert_webhook_url is None or not settings.alert_webhook_url.get_secret_value():
        raise ExternalServiceError("ALERT_WEBHOOK_URL is not set, so there is nowhere to post the problems.")
    lines = [f"LeadScout check on {socket.gethostname()}: {len(problems)} problem(s)"]
    lines += [f"• {problem.check}: {problem.detail}" for problem in problems]
    try:
        response = httpx.post(
            settings.alert_webhook_url.get_secret_value(), json={"text": "\n".join(lines)}, timeout=10
        )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ExternalServiceError(f"Posting to ALERT_WEBHOOK_URL failed: {type(exc).__name__}") from exc
