"""Which rubric scores a lead: its campaign's approved strategy version, else the workspace's latest one.

A lead's current rubric is the one ``core.scoring`` scores it with. ``Lead.rubric_version`` holds
the id of the strategy version that scored it (0: the default rubric used before any strategy
was approved). The SQL here is shared by the lead detail and by the count of outdated scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import aliased, join
from sqlalchemy.sql.elements import ColumnElement

from core.db import UnitOfWork
from core.db.models import Campaign, Lead, StrategyVersion
from core.leads.models import RubricRef


@dataclass(frozen=True)
class CurrentRubric:
    """Rows with a lead campaign id joined to its current rubric; none while nothing is approved yet."""

    source: Any  # the FROM clause
    version_id: ColumnElement[int]  # the strategy version the lead should be scored with
    rescore_campaign_id: ColumnElement[int]  # the campaign whose re-score job covers the lead


def current_rubric(workspace_id: int, rows: Any, campaign_id: Any) -> CurrentRubric:
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
    return CurrentRubric(
        source=join(rows, own, own_approved, isouter=True).join(latest, true()),
        version_id=func.coalesce(own.approved_version_id, latest.c.approved_version_id),
        rescore_campaign_id=func.coalesce(campaign_id, latest.c.id),
    )


def rubric_refs(uow: UnitOfWork, *, workspace_id: int, lead: Lead) -> tuple[RubricRef | None, RubricRef | None]:
    """The rubric that scored ``lead`` (None: never scored) and its current one (None: nothing approved yet)."""
    rubric = current_rubric(workspace_id, Lead, Lead.campaign_id)
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
