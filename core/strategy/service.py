"""Campaigns and their strategy versions: create from a goal, list, edit as new versions, approve."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import background
from core.actor import Actor
from core.audit import audit
from core.config import Settings
from core.db import UnitOfWork
from core.db.models import Campaign, StrategyVersion, User
from core.errors import InvalidInput, LeadScoutError, NotFound
from core.llm import CONFIGURED, LLM, resolve_llm
from core.strategy.changes import describe_changes
from core.strategy.generate import clean_goal, generate, with_cost
from core.strategy.models import CampaignView, Query, RubricFactor, Strategy, StrategyVersionView, parse_strategy

APPROVABLE_STATUSES = ("draft", "approved", "done")
# Runs arrive with the discovery issue; until then approval only records the version.
RUNS_AVAILABLE = False


def campaign_name(goal: str) -> str:
    """A short name for a campaign: the goal's first words."""
    text = clean_goal(goal)
    return text if len(text) <= 80 else text[:77].rsplit(" ", 1)[0] + "..."


def _campaign(uow: UnitOfWork, actor: Actor, campaign_id: int) -> Campaign:
    campaign = uow.session.get(Campaign, campaign_id)
    if campaign is None or campaign.workspace_id != actor.workspace_id:
        raise NotFound(f"Campaign {campaign_id} was not found in {actor.workspace_name}.")
    return campaign


def _version_view(version: StrategyVersion, author: str) -> StrategyVersionView:
    return StrategyVersionView(
        id=version.id,
        campaign_id=version.campaign_id,
        version=version.version,
        mode=version.mode,
        strategy=parse_strategy(version.data),
        change_note=version.change_note,
        created_at=version.created_at,
        created_by=author,
    )


def _campaign_views(uow: UnitOfWork, actor: Actor, campaign_id: int | None = None) -> list[CampaignView]:
    latest = (
        select(StrategyVersion.campaign_id, func.max(StrategyVersion.version).label("latest"))
        .where(StrategyVersion.workspace_id == actor.workspace_id)
        .group_by(StrategyVersion.campaign_id)
        .subquery()
    )
    query = (
        select(Campaign, latest.c.latest, StrategyVersion.mode)
        .join(latest, latest.c.campaign_id == Campaign.id)
        .join(
            StrategyVersion, (StrategyVersion.campaign_id == Campaign.id) & (StrategyVersion.version == latest.c.latest)
        )
        .where(Campaign.workspace_id == actor.workspace_id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    if campaign_id is not None:
        query = query.where(Campaign.id == campaign_id)
    return [
        CampaignView(c.id, c.name, c.goal, c.status, c.approved_version_id, number, mode, c.created_at)
        for c, number, mode in uow.session.execute(query)
    ]


def create_campaign_from_goal(
    *,
    actor: Actor,
    goal: str,
    llm: LLM | None = CONFIGURED,
    uow: UnitOfWork | None = None,
    budget_usd: float | None = None,
    budget_tokens: int | None = None,
    settings: Settings | None = None,
) -> StrategyVersionView:
    """A new draft campaign for ``goal`` with strategy version 1 (LLM, or heuristic without one)."""
    actor.require_permission("campaign.edit")
    llm = resolve_llm(llm)
    text = clean_goal(goal)
    uow = uow or UnitOfWork()
    with uow:
        campaign = Campaign(
            workspace_id=actor.workspace_id,
            name=campaign_name(text),
            goal=text,
            budget_usd=budget_usd,
            budget_tokens=budget_tokens,
            created_by=actor.user_id,
        )
        uow.session.add(campaign)
        uow.commit()  # committed first: LLM calls are recorded against it in their own transactions
        campaign_id = campaign.id
    try:
        strategy = generate(text, llm=llm, workspace_id=actor.workspace_id, campaign_id=campaign_id, settings=settings)
    except LeadScoutError:
        with uow:
            uow.session.delete(_campaign(uow, actor, campaign_id))
            uow.commit()
        raise
    note = "First version, " + (
        "planned by the AI from the goal."
        if strategy.mode == "llm"
        else "planned by the heuristic planner (no OpenAI key)."
    )
    with uow:
        version = StrategyVersion(
            workspace_id=actor.workspace_id,
            campaign_id=campaign_id,
            version=1,
            mode=strategy.mode,
            data=strategy.model_dump(mode="json"),
            change_note=note,
            created_by=actor.user_id,
        )
        uow.session.add(version)
        audit(
            uow,
            "campaign.created",
            actor=actor,
            target_type="campaign",
            target_id=campaign_id,
            detail={"mode": strategy.mode},
        )
        uow.commit()
        return _version_view(version, actor.email)


def list_campaigns(*, actor: Actor, uow: UnitOfWork | None = None) -> list[CampaignView]:
    """The workspace's campaigns, newest first."""
    actor.require_permission("campaign.view")
    with uow or UnitOfWork() as active:
        return _campaign_views(active, actor)


def get_campaign(*, actor: Actor, campaign_id: int, uow: UnitOfWork | None = None) -> CampaignView | None:
    """The campaign in the actor's workspace, or None."""
    actor.require_permission("campaign.view")
    with uow or UnitOfWork() as active:
        views = _campaign_views(active, actor, campaign_id)
        return views[0] if views else None


def get_campaign_or_raise(*, actor: Actor, campaign_id: int, uow: UnitOfWork | None = None) -> CampaignView:
    """The campaign in the actor's workspace; ``NotFound`` otherwise (also for other workspaces)."""
    actor.require_permission("campaign.view")
    view = get_campaign(actor=actor, campaign_id=campaign_id, uow=uow)
    if view is None:
        raise NotFound(f"Campaign {campaign_id} was not found in {actor.workspace_name}.")
    return view


def list_versions(*, actor: Actor, campaign_id: int, uow: UnitOfWork | None = None) -> list[StrategyVersionView]:
    """Every saved version of the campaign's strategy, newest first."""
    actor.require_permission("campaign.view")
    with uow or UnitOfWork() as active:
        _campaign(active, actor, campaign_id)
        rows = active.session.execute(
            select(StrategyVersion, func.coalesce(User.email, ""))
            .outerjoin(User, User.id == StrategyVersion.created_by)
            .where(StrategyVersion.campaign_id == campaign_id, StrategyVersion.workspace_id == actor.workspace_id)
            .order_by(StrategyVersion.version.desc())
        )
        return [_version_view(version, author) for version, author in rows]


def latest_version(*, actor: Actor, campaign_id: int, uow: UnitOfWork | None = None) -> StrategyVersionView:
    """The newest version of the campaign's strategy."""
    actor.require_permission("campaign.view")
    versions = list_versions(actor=actor, campaign_id=campaign_id, uow=uow)
    if not versions:
        raise NotFound(f"Campaign {campaign_id} has no strategy yet.")
    return versions[0]


def save_version(
    *,
    actor: Actor,
    campaign_id: int,
    strategy: Strategy | dict,
    change_note: str = "",
    uow: UnitOfWork | None = None,
    settings: Settings | None = None,
) -> StrategyVersionView:
    """Store an edited strategy as the next version, with a note of what changed."""
    actor.require_permission("campaign.edit")
    edited = with_cost(parse_strategy(strategy), settings=settings)
    uow = uow or UnitOfWork()
    with uow:
        _campaign(uow, actor, campaign_id)
        previous = uow.session.scalar(
            select(StrategyVersion)
            .where(StrategyVersion.campaign_id == campaign_id)
            .order_by(StrategyVersion.version.desc())
            .limit(1)
        )
        number = previous.version + 1 if previous else 1
        changes = describe_changes(parse_strategy(previous.data), edited) if previous else ""
        if previous and not changes:
            raise InvalidInput(f"Nothing changed since version {previous.version}; there is nothing to save.")
        note = "\n".join(part for part in (change_note.strip(), changes) if part)
        version = StrategyVersion(
            workspace_id=actor.workspace_id,
            campaign_id=campaign_id,
            version=number,
            mode=edited.mode,
            data=edited.model_dump(mode="json"),
            change_note=note,
            created_by=actor.user_id,
        )
        uow.session.add(version)
        audit(
            uow,
            "strategy.saved",
            actor=actor,
            target_type="campaign",
            target_id=campaign_id,
            detail={"version": number},
        )
        try:
            uow.commit()
        except IntegrityError as exc:
            raise InvalidInput(
                f"Someone saved version {number} of this strategy at the same moment. "
                "Reload the page and apply your edits again."
            ) from exc
        return _version_view(version, actor.email)


def approve(
    *, actor: Actor, campaign_id: int, version_id: int, uow: UnitOfWork | None = None, runner: Any | None = None
) -> CampaignView:
    """Record ``version_id`` as the campaign's approved strategy."""
    actor.require_permission("campaign.edit")
    uow = uow or UnitOfWork()
    with uow:
        campaign = _campaign(uow, actor, campaign_id)
        version = uow.session.get(StrategyVersion, version_id)
        if version is None or version.campaign_id != campaign.id or version.workspace_id != actor.workspace_id:
            raise NotFound(f"Strategy version {version_id} was not found in this campaign.")
        if campaign.status not in APPROVABLE_STATUSES:
            raise InvalidInput(f"This campaign is {campaign.status}; a strategy can be approved only before it runs.")
        previous_version = campaign.approved_version_id
        campaign.approved_version_id = version.id
        campaign.status = "approved"
        audit(
            uow,
            "strategy.approved",
            actor=actor,
            target_type="campaign",
            target_id=campaign.id,
            detail={"version": version.version, "version_id": version.id},
        )
        uow.commit()
        had_scores = previous_version is not None and previous_version != version.id
    if had_scores:
        # A different rubric was approved: leads scored on the old one are re-scored as a job.
        background.submit(
            kind=background.kinds.RESCORE_CAMPAIGN,
            args={"campaign_id": campaign_id, "use_llm": True},
            actor=actor,
            runner=runner,
        )
    return get_campaign_or_raise(actor=actor, campaign_id=campaign_id, uow=uow)


# The rubric a campaign made for a list of websites gets when no goal says what to look for.
WEBSITE_LIST_RUBRIC = (("Reachable contact", 100),)


def create_campaign_for_websites(
    *, actor: Actor, name: str, goal: str = "", llm: LLM | None = CONFIGURED, settings: Settings | None = None
) -> CampaignView:
    """An approved campaign called ``name`` for analysing a list of websites (``core run --urls``): the goal's
    strategy when a goal is given, else one with the default rubric (a reachable contact)."""
    actor.require_permission("campaign.edit")
    name = " ".join(name.split())[:200] or "Websites"
    if goal.strip():
        planned = create_campaign_from_goal(actor=actor, goal=goal, llm=llm, settings=settings)
        with UnitOfWork() as uow:
            _campaign(uow, actor, planned.campaign_id).name = name
            uow.commit()
        return approve(actor=actor, campaign_id=planned.campaign_id, version_id=planned.id)
    strategy = Strategy(
        summary=f"The websites listed in {name}, scored with the default rubric.",
        queries=[Query(text=name, intent="not searched: the run analyses the listed websites")],
        rubric=[RubricFactor(factor=factor, weight=weight) for factor, weight in WEBSITE_LIST_RUBRIC],
    )
    with UnitOfWork() as uow:
        campaign = Campaign(
            workspace_id=actor.workspace_id,
            name=name,
            goal=f"Analyse the websites listed in {name}",
            created_by=actor.user_id,
        )
        uow.session.add(campaign)
        uow.flush()
        version = StrategyVersion(
            workspace_id=actor.workspace_id,
            campaign_id=campaign.id,
            version=1,
            mode=strategy.mode,
            data=strategy.model_dump(mode="json"),
            change_note="For a list of websites, with the default rubric (no goal given).",
            created_by=actor.user_id,
        )
        uow.session.add(version)
        audit(
            uow,
            "campaign.created",
            actor=actor,
            target_type="campaign",
            target_id=campaign.id,
            detail={"mode": "website list"},
        )
        uow.commit()
        campaign_id, version_id = campaign.id, version.id
    return approve(actor=actor, campaign_id=campaign_id, version_id=version_id)
