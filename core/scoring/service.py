"""Score leads against their campaign's approved rubric, the LLM judging many leads at once."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select, text

from core import background
from core.actor import Actor
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Campaign, Contact, Evidence, Lead, StrategyVersion, utcnow
from core.errors import LeadScoutError, NotFound, QuotaExceeded
from core.leads.bulk import among
from core.llm import CONFIGURED, LLM, resolve_llm
from core.scoring.judgement import judge
from core.scoring.rules import (
    EvidenceFact,
    Factor,
    LeadFacts,
    RulePlan,
    compile_rules,
    judgement_factor,
    score_rules,
    total,
    unjudged,
)
from core.strategy.models import ICP, parse_strategy

log = logging.getLogger(__name__)
CHUNK = 500  # leads per batch when the LLM judges them (its answers come in as they are ready)
RULES_CHUNK = 2000  # leads per batch scored by the rules alone
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


@dataclass(frozen=True)
class _Loaded:
    """One lead as scoring reads it: its campaign, its facts and its earlier LLM judgement (if any)."""

    campaign_id: int | None
    facts: LeadFacts
    earlier_judgement: dict[str, Any] | None


def _load(uow: UnitOfWork, workspace_id: int, ids: list[int], *, earlier_judgements: bool) -> list[_Loaded]:
    """The leads' facts, read with plain SQL rows (no ORM objects: this runs for every lead re-scored); their
    stored factors only when a rubric asks the LLM (the earlier judgement is all that is read from them)."""
    connection = uow.session.connection()
    lead, contact, evidence_table = Lead.__table__.c, Contact.__table__.c, Evidence.__table__.c
    session = uow.session
    kinds: dict[int, set[str]] = {}
    for lead_id, kind in connection.execute(
        select(contact.lead_id, contact.kind).where(among(session, contact.lead_id, ids)).distinct()
    ).all():
        kinds.setdefault(lead_id, set()).add(kind)
    evidence: dict[int, list[EvidenceFact]] = {}
    for lead_id, evidence_id, name, value, snippet in connection.execute(
        select(
            evidence_table.lead_id,
            evidence_table.id,
            evidence_table.field,
            evidence_table.value,
            evidence_table.snippet,
        )
        .where(among(session, evidence_table.lead_id, ids))
        .order_by(evidence_table.id)
    ).all():
        evidence.setdefault(lead_id, []).append(EvidenceFact(evidence_id, name, value or "", snippet or ""))
    columns = [
        lead.id,
        lead.campaign_id,
        lead.name,
        lead.domain,
        lead.industry,
        lead.location,
        lead.country,
        lead.city,
        lead.summary,
        lead.tech,
    ]
    if earlier_judgements:
        columns.append(lead.score_factors)
    rows = connection.execute(
        select(*columns).where(lead.workspace_id == workspace_id, among(session, lead.id, ids))
    ).all()
    loaded = []
    for row in rows:
        lead_id, campaign_id, name, domain, industry, location, country, city, summary, tech = row[:10]
        factors = row[10] if earlier_judgements else None
        loaded.append(
            _Loaded(
                campaign_id,
                LeadFacts(
                    lead_id=lead_id,
                    name=name,
                    domain=domain,
                    industry=industry,
                    location=location,
                    country=country,
                    city=city,
                    summary=summary,
                    tech=tuple(tech or ()),
                    contact_kinds=tuple(sorted(kinds.get(lead_id, ()))),
                    evidence=tuple(evidence.get(lead_id, ())),
                ),
                next((f for f in factors or () if isinstance(f, dict) and f.get("kind") == "judgement"), None),
            )
        )
    return loaded


def _score_one(
    rubric: Rubric, plan: RulePlan, lead: _Loaded, llm: LLM | None, workspace_id: int
) -> tuple[list[Factor], str, bool]:
    """The lead's factors with the weights as the rubric gives them, a problem to report (or ''), and whether
    the LLM judged it this time."""
    facts = lead.facts
    factors = score_rules(plan, rubric.icp, facts)
    wanted = judgement_factor(rubric.factors)
    if wanted is None:  # the rubric gives the LLM no say
        return factors, "", False
    name, weight = wanted
    if llm is None:
        return (
            [*factors, unjudged(name, weight, lead.earlier_judgement, "no LLM was asked (OPENAI_API_KEY)")],
            "",
            False,
        )
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
        return [*factors, judged], "", True
    except QuotaExceeded:
        raise
    except LeadScoutError as error:  # the LLM failed for this lead: its earlier judgement, or none
        earlier = unjudged(name, weight, lead.earlier_judgement, f"the LLM failed ({error})")
        return [*factors, earlier], f"lead {facts.lead_id}: {error}", False


_STORE_POSTGRESQL = text(
    "UPDATE lead SET score = v.score, rubric_version = v.version, score_factors = v.factors, updated_at = :now "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id integer, score double precision, version integer, "
    "factors jsonb) WHERE lead.id = v.id"
)  # one JSON document for the whole chunk: a text[] of JSON strings costs psycopg a regex escape per quote
_STORE_SQLITE = "UPDATE lead SET score = ?, rubric_version = ?, score_factors = ?, updated_at = ? WHERE id = ?"


def store_scores(uow: UnitOfWork, rows: list[tuple[int, float, int, list[dict[str, Any]]]]) -> None:
    """Write (lead id, score, rubric version, factors) for many leads at once: one set-based UPDATE on
    PostgreSQL, one prepared statement run over every row on SQLite (no per-row ORM work on either)."""
    connection = uow.session.connection()
    dialect = connection.dialect
    table = Lead.__table__
    factors_bind = table.c.score_factors.type.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[attr-defined]
    when_bind = table.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[attr-defined]
    now = utcnow()
    if dialect.name == "postgresql":
        document = json.dumps(
            [{"id": i, "score": score, "version": version, "factors": f} for i, score, version, f in rows]
        )
        connection.execute(_STORE_POSTGRESQL, {"now": now, "rows": document})
        return
    stamp = when_bind(now) if when_bind else now
    raw = connection.connection.driver_connection
    raw.executemany(  # type: ignore[union-attr]
        _STORE_SQLITE,
        [(score, version, factors_bind(f) if factors_bind else f, stamp, i) for i, score, version, f in rows],
    )


def _store(uow_factory: Callable[[], UnitOfWork], rows: list[tuple[int, float, int, list[dict[str, Any]]]]) -> None:
    with uow_factory() as uow:
        if rows:
            store_scores(uow, rows)
        uow.commit()


def score_leads(
    *,
    workspace_id: int,
    lead_ids: list[int],
    llm: LLM | None = CONFIGURED,
    use_llm: bool = True,
    progress: Callable[[int, int], None] | None = None,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
) -> ScoreSummary:
    """Score the workspace's leads (others are ignored) and store score, factors and rubric version. Each chunk
    is written in its own transaction by a writer thread while the next chunk is read and scored (the database's
    work on PostgreSQL overlaps ours); one write is outstanding at a time, in order."""
    llm = resolve_llm(llm) if use_llm else None
    summary = ScoreSummary()
    ids = sorted(set(lead_ids))
    workers = max(1, get_settings().llm_max_concurrency) if llm is not None else 1
    size = CHUNK if llm is not None else RULES_CHUNK
    storing: tuple[Future[None], int, int] | None = None  # the chunk being written while the next is scored

    def _stored(item: tuple[Future[None], int, int]) -> None:
        future, count, done = item
        future.result()  # a failed write fails the pass, as before
        summary.scored += count
        if progress:
            progress(done, len(ids))

    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="score") as pool,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="score-store") as writer,
    ):
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            with uow_factory() as uow:
                campaign_ids = set(
                    uow.session.scalars(
                        select(Lead.campaign_id)
                        .where(Lead.workspace_id == workspace_id, among(uow.session, Lead.id, chunk))
                        .distinct()
                    )
                )
                rubrics = resolve_rubrics(uow, workspace_id=workspace_id, campaign_ids=campaign_ids)
                asks_llm = any(judgement_factor(r.factors) for r in rubrics.values())
                loaded = _load(uow, workspace_id, chunk, earlier_judgements=asks_llm)
            plans = {key: compile_rules(r.factors, r.icp) for key, r in rubrics.items()}
            current = llm

            def one(
                item: _Loaded,
                model: LLM | None = current,
                table: dict[int | None, Rubric] = rubrics,
                compiled: dict[int | None, RulePlan] = plans,
            ) -> tuple[list[Factor], str, bool]:
                return _score_one(table[item.campaign_id], compiled[item.campaign_id], item, model, workspace_id)

            try:
                results = list(pool.map(one, loaded)) if llm is not None else [one(x) for x in loaded]
            except QuotaExceeded as error:  # the budget ran out: finish with the rules alone
                summary.errors.append(str(error))
                llm = None
                results = [
                    _score_one(rubrics[x.campaign_id], plans[x.campaign_id], x, None, workspace_id) for x in loaded
                ]
            rows = []
            for item, (factors, problem, judged) in zip(loaded, results, strict=True):
                if problem:
                    summary.errors.append(problem)
                summary.judged += judged
                rows.append(
                    (
                        item.facts.lead_id,
                        total(factors),
                        rubrics[item.campaign_id].version,
                        [f.as_dict() for f in factors],
                    )
                )
            if storing is not None:
                _stored(storing)
            storing = (writer.submit(_store, uow_factory, rows), len(rows), min(start + size, len(ids)))
        if storing is not None:
            _stored(storing)
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
