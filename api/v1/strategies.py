"""Goals → strategies (with the cost preview), versions, edits as new versions, approval; runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import READ, WRITE
from api.v1.inputs import Input, JsonId
from core.apikeys.service import ApiPrincipal
from core.runs import service as runs
from core.strategy import service as strategies
from core.strategy.models import CampaignView, StrategyVersionView

router = APIRouter()
Id = JsonId


class GoalIn(Input):
    goal: str = Field(min_length=3, max_length=2000, description="The goal in plain English")
    budget_usd: float | None = Field(default=None, ge=0, le=1_000_000)


class VersionOut(BaseModel):
    id: int
    strategy_id: int
    version: int
    mode: str
    strategy: dict[str, Any]
    cost_preview: dict[str, Any]
    change_note: str
    created_at: datetime
    created_by: str


class StrategyOut(BaseModel):
    id: int
    name: str
    goal: str
    status: str
    approved_version_id: int | None
    latest_version: int
    mode: str
    created_at: datetime


class CreatedStrategy(BaseModel):
    strategy: StrategyOut
    version: VersionOut


class VersionIn(Input):
    strategy: dict[str, Any] = Field(description="The whole edited strategy (as a version's `strategy`)")
    change_note: str = Field(default="", max_length=2000)


class ApproveIn(Input):
    version_id: Id


def _version(v: StrategyVersionView) -> VersionOut:
    data = v.strategy.model_dump(mode="json")
    return VersionOut(
        id=v.id,
        strategy_id=v.campaign_id,
        version=v.version,
        mode=v.mode,
        strategy=data,
        cost_preview=data.get("cost_preview", {}),
        change_note=v.change_note,
        created_at=v.created_at,
        created_by=v.created_by,
    )


def _strategy(c: CampaignView) -> StrategyOut:
    return StrategyOut(**c.__dict__)


@router.post(
    "/strategies",
    status_code=201,
    response_model=CreatedStrategy,
    tags=["strategies"],
    summary="Turn a goal into a strategy with its cost preview",
)
def create_strategy(body: GoalIn, who: ApiPrincipal = WRITE) -> CreatedStrategy:
    version = strategies.create_campaign_from_goal(actor=who.actor, goal=body.goal, budget_usd=body.budget_usd)
    campaign = strategies.get_campaign_or_raise(actor=who.actor, campaign_id=version.campaign_id)
    return CreatedStrategy(strategy=_strategy(campaign), version=_version(version))


@router.get("/strategies", response_model=list[StrategyOut], tags=["strategies"], summary="The workspace's strategies")
def list_strategies(who: ApiPrincipal = READ) -> list[StrategyOut]:
    return [_strategy(c) for c in strategies.list_campaigns(actor=who.actor)]


@router.get("/strategies/{strategy_id:int}", response_model=StrategyOut, tags=["strategies"])
def get_strategy(strategy_id: Id, who: ApiPrincipal = READ) -> StrategyOut:
    return _strategy(strategies.get_campaign_or_raise(actor=who.actor, campaign_id=strategy_id))


@router.get("/strategies/{strategy_id:int}/versions", response_model=list[VersionOut], tags=["strategies"])
def list_versions(strategy_id: Id, who: ApiPrincipal = READ) -> list[VersionOut]:
    strategies.get_campaign_or_raise(actor=who.actor, campaign_id=strategy_id)
    return [_version(v) for v in strategies.list_versions(actor=who.actor, campaign_id=strategy_id)]


@router.post(
    "/strategies/{strategy_id:int}/versions",
    status_code=201,
    response_model=VersionOut,
    tags=["strategies"],
    summary="Save an edited strategy as the next version",
)
def save_version(strategy_id: Id, body: VersionIn, who: ApiPrincipal = WRITE) -> VersionOut:
    strategies.get_campaign_or_raise(actor=who.actor, campaign_id=strategy_id)  # 404 before judging the body
    return _version(
        strategies.save_version(
            actor=who.actor, campaign_id=strategy_id, strategy=body.strategy, change_note=body.change_note
        )
    )


@router.post(
    "/strategies/{strategy_id:int}/approve",
    response_model=StrategyOut,
    tags=["strategies"],
    summary="Approve one version of the strategy",
)
def approve(strategy_id: Id, body: ApproveIn, who: ApiPrincipal = WRITE) -> StrategyOut:
    return _strategy(strategies.approve(actor=who.actor, campaign_id=strategy_id, version_id=body.version_id))


class RunIn(Input):
    strategy_id: Id
    urls: list[Annotated[str, Field(min_length=1, max_length=2000)]] | None = Field(
        default=None, max_length=500, description="Websites to analyse instead of searching (one-off analysis)"
    )


class RunOut(BaseModel):
    id: int
    strategy_id: int
    status: str
    created_at: datetime
    finished_at: datetime | None
    hits: int
    sites_total: int
    sites_queued: int
    sites_crawled: int
    sites_failed: int
    sites_skipped: int
    leads_created: int
    leads_updated: int
    active_jobs: int
    failed_jobs: int
    errors: list[str]
    rejected: list[dict[str, Any]] = []


def _run(r: runs.RunView, rejected: tuple[tuple[int, str, str], ...] = ()) -> RunOut:  # type: ignore[name-defined]
    data = dict(r.__dict__)
    data["strategy_id"] = data.pop("campaign_id")
    data["errors"] = list(r.errors)
    return RunOut(**data, rejected=[{"line": n, "text": t, "reason": why} for n, t, why in rejected])


@router.post(
    "/runs",
    status_code=202,
    response_model=RunOut,
    tags=["runs"],
    summary="Start a run of an approved strategy (search, or the given websites)",
)
def start_run(body: RunIn, who: ApiPrincipal = WRITE) -> RunOut:
    if body.urls:
        started = runs.start_run_from_urls(
            actor=who.actor, campaign_id=body.strategy_id, urls_text="\n".join(body.urls)
        )
    else:
        started = runs.start_run(actor=who.actor, campaign_id=body.strategy_id)
    return _run(runs.get_run_or_raise(actor=who.actor, run_id=started.run_id), started.rejected)


@router.get("/runs/{run_id:int}", response_model=RunOut, tags=["runs"], summary="A run's progress")
def get_run(run_id: Id, who: ApiPrincipal = READ) -> RunOut:
    return _run(runs.get_run_or_raise(actor=who.actor, run_id=run_id))


@router.post("/runs/{run_id:int}/cancel", response_model=RunOut, tags=["runs"], summary="Cancel a run")
def cancel_run(run_id: Id, who: ApiPrincipal = WRITE) -> RunOut:
    return _run(runs.cancel_run(actor=who.actor, run_id=run_id))
