"""What the system has done lately: jobs per hour, LLM and search use against budgets, database size."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import case, func, select, text
from sqlalchemy.engine import make_url

from core.config import get_settings
from core.db import UnitOfWork, get_engine
from core.db.models import Campaign, Job, LLMCall, SearchCall, utcnow


@dataclass(frozen=True)
class HourCount:
    """Jobs created in one hour, by outcome."""

    hour: datetime
    succeeded: int
    failed: int
    other: int


@dataclass(frozen=True)
class CampaignBudget:
    """A campaign's LLM spend (all time, cache hits excluded) against its budgets."""

    campaign_id: int
    name: str
    spent_usd: float
    spent_tokens: int
    budget_usd: float | None
    budget_tokens: int | None

    @property
    def fraction(self) -> float:
        """The larger of the two budget fractions used (0 when neither budget is set)."""
        parts = [0.0]
        if self.budget_usd:
            parts.append(self.spent_usd / self.budget_usd)
        if self.budget_tokens:
            parts.append(self.spent_tokens / self.budget_tokens)
        return max(parts)


@dataclass(frozen=True)
class ProviderCalls:
    """Calls to one provider in a window, and how many of them failed."""

    provider: str
    calls: int
    errors: int

    @property
    def error_rate(self) -> float:
        """Failed calls as a fraction of all calls (0 when there were none)."""
        return self.errors / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class MonthUsage:
    """LLM and search use since the first of this month (UTC)."""

    since: datetime
    llm_calls: int
    llm_tokens: int
    llm_cost_usd: float
    search_calls: int
    campaigns: tuple[CampaignBudget, ...]


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def jobs_per_hour(*, workspace_id: int | None, hours: int = 24, now: datetime | None = None) -> list[HourCount]:
    """Jobs created in each of the last ``hours`` hours (oldest first), for one workspace or all."""
    now = now or utcnow()
    since = _hour(now) - timedelta(hours=hours - 1)
    query = select(Job.created_at, Job.status).where(Job.created_at >= since)
    if workspace_id is not None:
        query = query.where(Job.workspace_id == workspace_id)
    buckets = {since + timedelta(hours=i): [0, 0, 0] for i in range(hours)}
    with UnitOfWork() as uow:
        for created_at, status in uow.session.execute(query):
            bucket = buckets.get(_hour(created_at))
            if bucket is not None:
                bucket[0 if status == "succeeded" else 1 if status == "failed" else 2] += 1
    return [HourCount(hour, *counts) for hour, counts in buckets.items()]


def job_outcomes(*, since: datetime) -> tuple[int, int]:
    """(finished, failed) jobs of every workspace that finished since ``since``."""
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(Job.status, func.count())
            .where(Job.finished_at >= since, Job.status.in_(("succeeded", "failed")))
            .group_by(Job.status)
        ).all()
    counts = {status: int(count) for status, count in rows}
    return counts.get("succeeded", 0) + counts.get("failed", 0), counts.get("failed", 0)


def provider_calls(*, since: datetime, workspace_id: int | None = None) -> list[ProviderCalls]:
    """LLM and search calls since ``since`` and how many failed."""
    found = []
    for provider, model in (("LLM", LLMCall), ("Search", SearchCall)):
        query = select(func.count(), func.coalesce(func.sum(case((model.error != "", 1), else_=0)), 0)).where(
            model.created_at >= since
        )
        if workspace_id is not None:
            query = query.where(model.workspace_id == workspace_id)
        with UnitOfWork() as uow:
            calls, errors = uow.session.execute(query).one()
        found.append(ProviderCalls(provider, int(calls), int(errors)))
    return found


def campaign_budgets(*, workspace_id: int | None, active_since: datetime | None = None) -> list[CampaignBudget]:
    """Campaigns with a budget and their spend; only those with LLM calls since ``active_since`` if given."""
    spend = (
        select(
            LLMCall.campaign_id,
            func.coalesce(func.sum(LLMCall.cost_usd), 0.0).label("usd"),
            func.coalesce(func.sum(LLMCall.input_tokens + LLMCall.output_tokens), 0).label("tokens"),
            func.max(LLMCall.created_at).label("last_call"),
        )
        .where(LLMCall.cache_hit.is_(False), LLMCall.campaign_id.is_not(None))
        .group_by(LLMCall.campaign_id)
        .subquery()
    )
    query = (
        select(Campaign, spend.c.usd, spend.c.tokens)
        .outerjoin(spend, spend.c.campaign_id == Campaign.id)
        .where((Campaign.budget_usd.is_not(None)) | (Campaign.budget_tokens.is_not(None)))
    )
    if workspace_id is not None:
        query = query.where(Campaign.workspace_id == workspace_id)
    if active_since is not None:
        query = query.where(spend.c.last_call >= active_since)
    with UnitOfWork() as uow:
        return [
            CampaignBudget(c.id, c.name, float(usd or 0), int(tokens or 0), c.budget_usd, c.budget_tokens)
            for c, usd, tokens in uow.session.execute(query.order_by(Campaign.id))
        ]


def month_usage(*, workspace_id: int | None, now: datetime | None = None) -> MonthUsage:
    """LLM calls, tokens and cost, and search calls this month, with campaign budgets."""
    since = (now or utcnow()).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    llm = select(
        func.count(),
        func.coalesce(func.sum(LLMCall.input_tokens + LLMCall.output_tokens), 0),
        func.coalesce(func.sum(LLMCall.cost_usd), 0.0),
    ).where(LLMCall.created_at >= since, LLMCall.cache_hit.is_(False))
    search = select(func.count()).select_from(SearchCall).where(SearchCall.created_at >= since)
    if workspace_id is not None:
        llm = llm.where(LLMCall.workspace_id == workspace_id)
        search = search.where(SearchCall.workspace_id == workspace_id)
    with UnitOfWork() as uow:
        calls, tokens, cost = uow.session.execute(llm).one()
        searches = uow.session.scalar(search) or 0
    return MonthUsage(
        since, int(calls), int(tokens), float(cost), int(searches), tuple(campaign_budgets(workspace_id=workspace_id))
    )


def database_size() -> int | None:
    """Bytes used by the database: pg_database_size on PostgreSQL, the file (and WAL) on SQLite."""
    settings = get_settings()
    if settings.is_sqlite:
        path = make_url(settings.resolved_database_url).database
        if not path or path == ":memory:":
            return None
        files = [Path(path), Path(path + "-wal")]
        return sum(os.path.getsize(f) for f in files if f.exists())
    with get_engine().connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    return int(size) if size is not None else None
