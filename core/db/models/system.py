"""Jobs and their periodic slots, LLM calls and their cache, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, CreatedAt

JOB_STATUSES = ("queued", "running", "retrying", "succeeded", "failed", "cancelled")
JOB_ACTIVE_STATUSES = ("queued", "running", "retrying")


class Job(CreatedAt, Base):
    """A unit of background work; the UI polls this row for status and progress."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_workspace_created", "workspace_id", "created_at"),
        Index("ix_job_status", "status"),
        {"sqlite_autoincrement": True},  # a deleted job's id is never given to another (audit entries name it)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(16), default="default")
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None]
    executor: Mapped[str] = mapped_column(String(12), default="embedded")
    runner: Mapped[str] = mapped_column(String(64), default="")
    rq_id: Mapped[str | None] = mapped_column(String(64))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # refreshed by the running attempt: its lease (JOB_LEASE_SECONDS)
    retry_at: Mapped[datetime | None]  # while ``retrying``: when the next attempt starts


class LLMCall(CreatedAt, Base):
    """One request to the LLM (or a cache hit standing in for one), with usage and cost."""

    __tablename__ = "llm_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"), index=True)
    purpose: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(100))
    prompt_version: Mapped[str] = mapped_column(String(32))
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    latency_ms: Mapped[int] = mapped_column(default=0)
    cache_hit: Mapped[bool] = mapped_column(default=False)
    cache_key: Mapped[str] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(Text, default="")


class LLMCacheEntry(CreatedAt, Base):
    """A stored LLM answer keyed by model, prompt version and normalised input."""

    __tablename__ = "llm_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    cache_key: Mapped[str] = mapped_column(String(64), unique=True)
    model: Mapped[str] = mapped_column(String(100))
    prompt_version: Mapped[str] = mapped_column(String(32))
    response: Mapped[dict[str, Any]]
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)


class PeriodicSlot(Base):
    """When a periodic job is next due; the process that moves it forward submits the job (once per period)."""

    __tablename__ = "periodic_slot"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_due_at: Mapped[datetime]


class AuditEvent(CreatedAt, Base):
    """Who did what to which record, for the team and the operator."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_workspace_created", "workspace_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
