"""Scores from a rubric other than the lead's current one: counted in one query, re-scored by the campaign job.

A lead's current rubric is the one ``service.resolve_rubrics`` scores it with: its campaign's approved
strategy version, else the workspace's latest approved one. ``Lead.rubric_version`` holds the id of
the strategy version that scored it (0: the default rubric used before any strategy was approved).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from core import background
from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import JOB_ACTIVE_STATUSES, Job, Lead
from core.leads.query import LeadFilter, filter_conditions
from core.leads.rubrics import current_rubric
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


def count_outdated_scores(*, actor: Actor, flt: LeadFilter, uow: UnitOfWork | None = None) -> OutdatedScores:
    """How many leads matching ``flt`` were scored with another rubric, or not at all while others were."""
    actor.require_permission("lead.view")
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
        rubric = current_rubric(actor.workspace_id, groups, groups.c.campaign_id)
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
            Job.workspace_id == workspace_id,
            Job.kind == background.kinds.RESCORE_CAMPAIGN.name,
            Job.status.in_(JOB_ACTIVE_STATUSES),
        )
    )
    found = {job_id: int((args or {}).get("campaign_id", 0)) for job_id, args in active}
    return {job_id: campaign_id for job_id, campaign_id in found.items() if campaign_id in campaign_ids}


def rescore_outdated(*, actor: Actor, flt: LeadFilter, runner: background.Runner | None = None) -> list[int]:
    """Submit the re-score job of each campaign with outdated leads in ``flt`` and none under way; the job ids."""
    actor.require_permission("lead.rescore")
    outdated = count_outdated_scores(actor=actor, flt=flt)
    return [submit_rescore(actor=actor, campaign_id=c, runner=runner) for c in outdated.campaign_ids]
