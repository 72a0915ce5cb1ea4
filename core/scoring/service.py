"""Score leads against their campaign's approved rubric, the LLM judging many leads at once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update

from core import background
from core.actor import Actor
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Campaign, Contact, Evidence, Lead, StrategyVersion
from core.errors import LeadScoutError, NotFound, QuotaExceeded
from core.llm import CONFIGURED, LLM, resolve_llm
from core.scoring.judgement import judge
from core.scoring.rules import EvidenceFact, Factor, LeadFacts, effective_weights, score_rules, total
from core.strategy.models import ICP, parse_strategy

log = logging.getLogger(__name__)
CHUNK = 500
DEFAULT_RUBRIC: list[tuple[str, int]] = [("Reachable contact", 100)]
DEFAULT_VERSION = 0  # no approved strategy in the workspace: reachability only


@dataclass(frozen=True)
class Rubric:
    """The rubric a lead is scored with, and the strategy version it came from."""

    version: int
    factors: list[tuple[str, int]]
    icp: ICP
    campaign_id: int | None


@dataclass
class ScoreSummary:
    """What a scoring pass did."""

    scored: int = 0
    judged: int = 0
    errors: list[str] = field(default_factory=list)


def _rubric_of(uow: UnitOfWork, campaign: Campaign | None) -> Rubric | None:
    if campaign is None or campaign.approved_version_id is None:
        return None
    version = uow.session.get(StrategyVersion, campaign.approved_version_id)
    if version is None:
        return None
    strategy = parse_strategy(version.data)
    return Rubric(version.id, [(f.factor, f.weight) for f in strategy.rubric], strategy.icp, campaign.id)


def resolve_rubrics(uow: UnitOfWork, *, workspace_id: int, campaign_ids: set[int | None]) -> dict[int | None, Rubric]:
    """Each campaign's approved rubric; leads without one use the workspace's latest approved one."""
    fallback_campaign = uow.session.scalar(
        select(Campaign)
        .where(Campaign.workspace_id == workspace_id, Campaign.approved_version_id.is_not(None))
        .order_by(Campaign.id.desc())
    )
    fallback = _rubric_of(uow, fallback_campaign) or Rubric(DEFAULT_VERSION, DEFAULT_RUBRIC, ICP(), None)
    out: dict[int | None, Rubric] = {}
    for campaign_id in campaign_ids:
        campaign = uow.session.get(Campaign, campaign_id) if campaign_id else None
        if campaign is not None and campaign.workspace_id != workspace_id:
            campaign = None
        out[campaign_id] = _rubric_of(uow, campaign) or fallback
    return out


def _load(uow: UnitOfWork, workspace_id: int, ids: list[int]) -> list[tuple[int | None, LeadFacts]]:
    s = uow.session
    kinds: dict[int, set[str]] = {}
    for lead_id, kind in s.execute(select(Contact.lead_id, Contact.kind).where(Contact.lead_id.in_(ids))):
        kinds.setdefault(lead_id, set()).add(kind)
    evidence: dict[int, list[EvidenceFact]] = {}
    for row in s.execute(
        select(Evidence.lead_id, Evidence.id, Evidence.field, Evidence.value, Evidence.snippet)
        .where(Evidence.lead_id.in_(ids))
        .order_by(Evidence.id)
    ):
        evidence.setdefault(row[0], []).append(EvidenceFact(row[1], row[2], row[3] or "", row[4] or ""))
    leads = s.scalars(select(Lead).where(Lead.workspace_id == workspace_id, Lead.id.in_(ids)))
    return [
        (
            lead.campaign_id,
            LeadFacts(
                lead_id=lead.id,
                name=lead.name,
                domain=lead.domain,
                industry=lead.industry,
                location=lead.location,
                country=lead.country,
                summary=lead.summary,
                tech=tuple(lead.tech or ()),
                contact_kinds=tuple(sorted(kinds.get(lead.id, ()))),
                evidence=tuple(evidence.get(lead.id, ())),
            ),
        )
        for lead in leads
    ]


def _score_one(rubric: Rubric, facts: LeadFacts, llm: LLM | None, workspace_id: int) -> tuple[list[Factor], str]:
    if llm is not None:
        name, _kind, weight = effective_weights(rubric.factors, with_judgement=True)[-1]
        try:
            judged = judge(
                llm,
                icp=rubric.icp,
                facts=facts,
                weight=weight,
                factor=name,
                workspace_id=workspace_id,
                campaign_id=rubric.campaign_id,
            )
            return [*score_rules(rubric.factors, rubric.icp, facts, with_judgement=True), judged], ""
        except QuotaExceeded:
            raise
        except LeadScoutError as error:  # the LLM failed for this lead: the rules alone score it
            return score_rules(
                rubric.factors, rubric.icp, facts, with_judgement=False
            ), f"lead {facts.lead_id}: {error}"
    return score_rules(rubric.factors, rubric.icp, facts, with_judgement=False), ""


def score_leads(
    *,
    workspace_id: int,
    lead_ids: list[int],
    llm: LLM | None = CONFIGURED,
    use_llm: bool = True,
    progress: Callable[[int, int], None] | None = None,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
) -> ScoreSummary:
    """Score the workspace's leads (others are ignored) and store score, factors and rubric version."""
    llm = resolve_llm(llm) if use_llm else None
    summary = ScoreSummary()
    ids = sorted(set(lead_ids))
    workers = max(1, get_settings().llm_max_concurrency) if llm is not None else 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="score") as pool:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            with uow_factory() as uow:
                loaded = _load(uow, workspace_id, chunk)
                rubrics = resolve_rubrics(uow, workspace_id=workspace_id, campaign_ids={c for c, _f in loaded})
            current = llm

            def one(
                item: tuple[int | None, LeadFacts],
                model: LLM | None = current,
                table: dict[int | None, Rubric] = rubrics,
            ) -> tuple[list[Factor], str]:
                return _score_one(table[item[0]], item[1], model, workspace_id)

            try:
                results = list(pool.map(one, loaded)) if llm is not None else [one(x) for x in loaded]
            except QuotaExceeded as error:  # the budget ran out: finish with the rules alone
                summary.errors.append(str(error))
                llm = None
                results = [_score_one(rubrics[c], f, None, workspace_id) for c, f in loaded]
            rows = []
            for (campaign_id, facts), (factors, problem) in zip(loaded, results, strict=True):
                if problem:
                    summary.errors.append(problem)
                summary.judged += any(f.kind == "judgement" for f in factors)
                rows.append(
                    {
                        "id": facts.lead_id,
                        "score": total(factors),
                        "rubric_version": rubrics[campaign_id].version,
                        "score_factors": [f.as_dict() for f in factors],
                    }
                )
            with uow_factory() as uow:
                if rows:
                    uow.session.execute(update(Lead), rows)
                uow.commit()
            summary.scored += len(rows)
            if progress:
                progress(min(start + CHUNK, len(ids)), len(ids))
    return summary


def leads_of_campaign(uow: UnitOfWork, *, workspace_id: int, campaign_id: int, stale_only: bool) -> list[int]:
    """Ids of the leads a campaign's rubric scores (its own, plus campaign-less ones if it is the latest)."""
    rubrics = resolve_rubrics(uow, workspace_id=workspace_id, campaign_ids={campaign_id, None})
    rubric = rubrics[campaign_id]
    scope = Lead.campaign_id == campaign_id
    if rubrics[None].campaign_id == campaign_id:
        scope = or_(scope, Lead.campaign_id.is_(None))
    query = select(Lead.id).where(Lead.workspace_id == workspace_id, Lead.deleted_at.is_(None), scope)
    if stale_only:
        query = query.where(or_(Lead.rubric_version.is_(None), Lead.rubric_version != rubric.version))
    return list(uow.session.scalars(query.order_by(Lead.id)))


def submit_rescore(
    *, actor: Actor, campaign_id: int, use_llm: bool = True, runner: background.Runner | None = None
) -> int:
    """Queue the re-score of a campaign's leads after its rubric changed; returns the job id."""
    actor.require_permission("lead.rescore")
    with UnitOfWork() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        if campaign is None or campaign.workspace_id != actor.workspace_id:
            raise NotFound(f"Campaign {campaign_id} does not exist in this workspace.")
    return background.submit(
        kind=background.kinds.RESCORE_CAMPAIGN,
        args={"campaign_id": campaign_id, "use_llm": use_llm},
        actor=actor,
        runner=runner,
    )
