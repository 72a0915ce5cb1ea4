"""Campaigns, their strategy versions, runs and the search hits of each run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, CreatedAt, utcnow

CAMPAIGN_STATUSES = ("draft", "approved", "running", "done", "archived")


class Campaign(CreatedAt, Base):
    """A goal in plain English and the strategies made from it."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    approved_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("strategy_version.id", ondelete="SET NULL", use_alter=True)
    )
    budget_usd: Mapped[float | None]
    budget_tokens: Mapped[int | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StrategyVersion(CreatedAt, Base):
    """One saved version of a campaign's strategy (queries, ICP, rubric, angle) as JSON."""

    __tablename__ = "strategy_version"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    version: Mapped[int]
    mode: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]]
    change_note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class Run(CreatedAt, Base):
    """One execution of an approved strategy version."""

    __tablename__ = "run"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    strategy_version_id: Mapped[int] = mapped_column(ForeignKey("strategy_version.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    finished_at: Mapped[datetime | None]


class SearchHit(CreatedAt, Base):
    """One search result: the provenance of a lead."""

    __tablename__ = "search_hit"
    __table_args__ = (UniqueConstraint("run_id", "query", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    query: Mapped[str] = mapped_column(String(500))
    rank: Mapped[int]
    url: Mapped[str] = mapped_column(String(2048))
    domain: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    snippet: Mapped[str] = mapped_column(Text, default="")


RUN_SITE_STATUSES = ("queued", "crawled", "failed", "skipped", "cancelled")
# The steps a site goes through, in order; ``run_site.step`` is the last one it finished ("" = none).
# fetched and extracted live in the attempt's memory; stored, scored and summarised are recorded.
SITE_STEPS = ("fetched", "extracted", "stored", "scored", "summarised")


class RunSite(CreatedAt, Base):
    """A candidate site of a run: crawled at most once per run, however often its batch runs."""

    __tablename__ = "run_site"
    __table_args__ = (UniqueConstraint("run_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(2048))
    source: Mapped[str] = mapped_column(String(16), default="search")
    status: Mapped[str] = mapped_column(String(12), default="queued")
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id", ondelete="SET NULL"))
    lead_created: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str] = mapped_column(Text, default="")
    step: Mapped[str] = mapped_column(String(12), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SearchCall(CreatedAt, Base):
    """One request to the search provider, counted against the monthly quota."""

    __tablename__ = "search_call"
    __table_args__ = (Index("ix_search_call_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"))
    query: Mapped[str] = mapped_column(String(500))
    results: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
