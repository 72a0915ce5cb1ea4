"""Scores from a rubric other than the lead's current one: counted in one query, re-scored by the campaign job.

A lead's current rubric is the one ``service.resolve_rubrics`` scores it with: its campaign's approved
strategy version, else the workspace's latest approved one. ``Lead.rubric_version`` holds the id of
the strategy version that scored it (0: the default rubric used before any strategy was approved).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import aliased, join
from sqlalchemy.sql.elements import ColumnElement

from core import jobs
from core.auth.models import Actor
from core.db import UnitOfWork
from core.db.models import JOB_ACTIVE_STATUSES, Campaign, Job, Lead, StrategyVersion
from core.leads.models import RubricRef
from core.leads.query import LeadFilter, filter_conditions
from core.scoring import RESCORE_JOB
from core.scoring.service import submit_rescore


@dataclass(frozen=True)
class OutdatedScores:
    """Leads of a filter whose score is not from their current rubric, and the re-score jobs that fix them."""

    old_rubric: int = 0  # scored with another (usually an earlier) rubric
    unscored: int = 0  # never scored, while other leads of the filter are
    campaign_ids: tuple[int, ...] = ()  # campaigns whose re-score job would cover them and is not under way
    running_job_ids: tuple[int, ...] = ()  # re-score jobs of the other such campaigns, queued or running

    @property
    def total(self) -> int:
        """How many leads need a re-score."""
        return self.old_rubric + self.unscored


@dataclass(frozen=True)
class _CurrentRubric:
    """Rows with a lead campaign id joined to its current rubric; none while nothing is approved yet."""

    source: Any  # the FROM clause
    version_id: ColumnElement[int]  # the strategy version the lead should be scored with
    rescore_campaign_id: ColumnElement[int]  # the campaign whose re-score job covers the lead


def _current_rubric(workspace_id: int, rows: Any, campaign_id: Any) -> _CurrentRubric:
    """``rows`` (``Lead``, or a subquery of it whose lead campaign column is ``campaign_id``) joined to the rubric."""
    own = aliased(Campaign)
    latest = (
        select(Campaign.id, Campaign.approved_version_id)
        .where(Campaign.workspace_id == workspace_id, Campaign.approved_version_id.is_not(None))
        .order_by(Campaign.id.desc())
        .limit(1)
        .subquery("latest_approved")
    )
    own_approved = and_(own.id == campaign_id, own.workspace_id == workspace_id, own.approved_version_id.is_not(None))
    return _CurrentRubric(
        source=join(rows, own, own_approved, isouter=True).join(latest, true()),
        version_id=func.coalesce(own.approved_version_id, latest.c.approved_version_id),
        rescore_campaign_id=func.coalesce(campaign_id, latest.c.id),
    )


def count_outdated_scores(*, actor: Actor, flt: LeadFilter, uow: UnitOfWork | None = None) -> OutdatedScores:
    """How many leads matching ``flt`` were scored with another rubric, or not at all while others were."""
    uow = uow or UnitOfWork()
    with uow:
        dialect = uow.session.get_bind().dialect.name
        # Leads are grouped by (campaign, rubric version) first: only those few groups meet the campaign table.
        groups = (
            select(Lead.campaign_id, Lead.rubric_version, func.count().label("leads"))
            .where(*filter_conditions(actor.workspace_id, flt, dialect))
            .group_by(Lead.campaign_id, Lead.rubric_version)
            .subquery("by_rubric")
        )
        rubric = _current_rubric(actor.workspace_id, groups, groups.c.campaign_id)
        rows = uow.session.execute(
            select(rubric.rescore_campaign_id, groups.c.rubric_version, rubric.version_id, groups.c.leads).select_from(
                rubric.source
            )
        ).all()
        old: dict[int, int] = {}
        unscored: dict[int, int] = {}
        for campaign_id, scored_with, current, leads in rows:
            if scored_with is None:
                unscored[campaign_id] = unscored.get(campaign_id, 0) + leads
            elif scored_with != current:
                old[campaign_id] = old.get(campaign_id, 0) + leads
        if all(scored_with is None for _c, scored_with, _v, _n in rows):
            unscored = {}  # nothing here is scored, so there is nothing to be out of date with
        outdated = set(old) | set(unscored)
        running = _running_rescores(uow, actor.workspace_id, outdated)
    return OutdatedScores(
        old_rubric=sum(old.values()),
        unscored=sum(unscored.values()),
        campaign_ids=tuple(sorted(outdated - set(running.values()))),
        running_job_ids=tuple(sorted(running)),
    )


def _running_rescores(uow: UnitOfWork, workspace_id: int, campaign_ids: set[int]) -> dict[int, int]:
    """The campaign of each queued or running re-score job of these campaigns, by job id."""
    if not campaign_ids:
        return {}
    active = uow.session.execute(
        select(Job.id, Job.args).where(
            Job.workspace_id == workspace_id, Job.kind == RESCORE_JOB, Job.status.in_(JOB_ACTIVE_STATUSES)
        )
    )
    found = {job_id: int((args or {}).get("campaign_id", 0)) for job_id, args in active}
    return {job_id: campaign_id for job_id, campaign_id in found.items() if campaign_id in campaign_ids}


def rescore_outdated(*, actor: Actor, flt: LeadFilter, runner: jobs.Runner | None = None) -> list[int]:
    """Submit the re-score job of each campaign with outdated leads in ``flt`` and none under way; the job ids."""
    outdated = count_outdated_scores(actor=actor, flt=flt)
    return [submit_rescore(actor=actor, campaign_id=c, runner=runner) for c in outdated.campaign_ids]


def rubric_refs(uow: UnitOfWork, *, workspace_id: int, lead: Lead) -> tuple[RubricRef | None, RubricRef | None]:
    """The rubric that scored ``lead`` (None: never scored) and its current one (None: nothing approved yet)."""
    rubric = _current_rubric(workspace_id, Lead, Lead.campaign_id)
    current_id = uow.session.scalar(select(rubric.version_id).select_from(rubric.source).where(Lead.id == lead.id))
    wanted = {v for v in (lead.rubric_version, current_id) if v}  # 0, the default rubric, has no row
    refs: dict[int, RubricRef] = {}
    if wanted:
        versions = uow.session.execute(
            select(StrategyVersion.id, StrategyVersion.version, Campaign.id, Campaign.name)
            .join(Campaign, Campaign.id == StrategyVersion.campaign_id)
            .where(StrategyVersion.workspace_id == workspace_id, StrategyVersion.id.in_(wanted))
        )
        refs = {v: RubricRef(version_id=v, number=n, campaign_id=c, campaign=name) for v, n, c, name in versions}

    def ref(version_id: int | None) -> RubricRef | None:
        return None if version_id is None else refs.get(version_id, RubricRef(version_id=version_id))

    return ref(lead.rubric_version), ref(current_id)
