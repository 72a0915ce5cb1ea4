"""Aggregates for the insights page, computed in SQL within one workspace."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, distinct, func, select

from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import LEAD_STATUSES, Lead, LLMCall, Message, SearchCall, SearchHit

QUALIFIED = ("qualified", "contacted", "replied", "meeting", "won")
SEARCH_USD_PER_CALL = 0.005  # Brave Search's list price per request; an estimate, shown as such


@dataclass(frozen=True)
class Insights:
    """Every chart's data as plain tuples."""

    funnel: tuple[tuple[str, int], ...]
    score_buckets: tuple[tuple[int, int], ...]  # (bucket start 0, 10, ... 90, count); unscored left out
    unscored: int
    industries: tuple[tuple[str, int], ...]
    countries: tuple[tuple[str, int], ...]  # (ISO code, leads)
    cities: tuple[tuple[str, int], ...]  # ("Paris (FR)", leads)
    query_yield: tuple[tuple[str, int, int], ...]  # (query, leads found, qualified among them)
    sources: tuple[tuple[str, int], ...]
    llm_cost_usd: float
    search_calls: int
    search_cost_usd: float
    qualified: int
    outreach: tuple[tuple[str, str, int], ...]  # (day, status, messages)

    @property
    def cost_per_qualified(self) -> float | None:
        """LLM plus search spend per qualified lead, or None before any lead qualified."""
        return (self.llm_cost_usd + self.search_cost_usd) / self.qualified if self.qualified else None


def _top(uow: UnitOfWork, column, workspace_id: int, limit: int = 15) -> tuple[tuple[str, int], ...]:  # type: ignore[no-untyped-def]
    rows = uow.session.execute(
        select(column, func.count())
        .where(Lead.workspace_id == workspace_id, Lead.deleted_at.is_(None), column != "")
        .group_by(column)
        .order_by(func.count().desc(), column)
        .limit(limit)
    )
    return tuple((str(k), int(n)) for k, n in rows)


def _cities(uow: UnitOfWork, workspace_id: int, limit: int = 15) -> tuple[tuple[str, int], ...]:
    """The most common cities, each labelled with its country ("Paris (FR)"): two Londons are not one bucket."""
    rows = uow.session.execute(
        select(Lead.city, Lead.country, func.count())
        .where(Lead.workspace_id == workspace_id, Lead.city != "")
        .group_by(Lead.city, Lead.country)
        .order_by(func.count().desc(), Lead.city, Lead.country)
        .limit(limit)
    )
    return tuple((f"{city} ({country})" if country else str(city), int(n)) for city, country, n in rows)


def get_insights(*, actor: Actor, uow: UnitOfWork | None = None) -> Insights:
    """Funnel, score distribution, industries, locations, query yield, sources, cost and outreach results."""
    actor.require_permission("lead.view")
    ws = actor.workspace_id
    uow = uow or UnitOfWork()
    with uow:
        s = uow.session
        by_status = dict(
            s.execute(
                select(Lead.status, func.count())
                .where(Lead.workspace_id == ws, Lead.deleted_at.is_(None))
                .group_by(Lead.status)
            ).all()
        )
        # a CASE ladder, because CAST rounds on PostgreSQL and truncates on SQLite
        bucket = case(*[(Lead.score < (b + 1) * 10, b) for b in range(9)], else_=9)
        buckets: dict[int, int] = dict(
            s.execute(
                select(bucket, func.count())
                .where(Lead.workspace_id == ws, Lead.deleted_at.is_(None), Lead.score.is_not(None))
                .group_by(bucket)
            ).all()
        )
        unscored = (
            s.scalar(
                select(func.count())
                .select_from(Lead)
                .where(Lead.workspace_id == ws, Lead.deleted_at.is_(None), Lead.score.is_(None))
            )
            or 0
        )
        qualified_case = case((Lead.status.in_(QUALIFIED), Lead.id), else_=None)
        yield_rows = s.execute(
            select(SearchHit.query, func.count(distinct(Lead.id)), func.count(distinct(qualified_case)))
            .join(Lead, (Lead.workspace_id == SearchHit.workspace_id) & (Lead.domain == SearchHit.domain))
            .where(SearchHit.workspace_id == ws, Lead.deleted_at.is_(None))
            .group_by(SearchHit.query)
            .order_by(func.count(distinct(qualified_case)).desc(), SearchHit.query)
            .limit(30)
        ).all()
        sources = s.execute(
            select(Lead.source, func.count())
            .where(Lead.workspace_id == ws, Lead.deleted_at.is_(None))
            .group_by(Lead.source)
        ).all()
        llm_cost = (
            s.scalar(select(func.coalesce(func.sum(LLMCall.cost_usd), 0.0)).where(LLMCall.workspace_id == ws)) or 0.0
        )
        searches = (
            s.scalar(
                select(func.count())
                .select_from(SearchCall)
                .where(SearchCall.workspace_id == ws, SearchCall.error == "")
            )
            or 0
        )
        day = func.date(Message.created_at)
        outreach = s.execute(
            select(day, Message.status, func.count())
            .where(Message.workspace_id == ws)
            .group_by(day, Message.status)
            .order_by(day)
        ).all()
        return Insights(
            funnel=tuple((status, int(by_status.get(status, 0))) for status in LEAD_STATUSES),
            score_buckets=tuple((b * 10, int(buckets.get(b, 0))) for b in range(10)),
            unscored=int(unscored),
            industries=_top(uow, Lead.industry, ws),
            countries=_top(uow, Lead.country, ws),
            cities=_cities(uow, ws),
            query_yield=tuple((q, int(found), int(good)) for q, found, good in yield_rows),
            sources=tuple((str(k), int(n)) for k, n in sources),
            llm_cost_usd=float(llm_cost),
            search_calls=int(searches),
            search_cost_usd=int(searches) * SEARCH_USD_PER_CALL,
            qualified=sum(int(by_status.get(x, 0)) for x in QUALIFIED),
            outreach=tuple((str(d), st, int(n)) for d, st, n in outreach),
        )
