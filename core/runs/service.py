"""Start, watch and cancel runs; everything slow happens in the jobs of ``core.runs.jobs``."""

from __future__ import annotations

from sqlalchemy import func, select, update

from core import background
from core.actor import Actor
from core.audit import audit
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import (
    JOB_ACTIVE_STATUSES,
    Campaign,
    Job,
    Lead,
    Run,
    RunSite,
    SearchCall,
    SearchHit,
    utcnow,
)
from core.errors import InvalidInput, NotFound
from core.leads.repository import owned_lead_ids
from core.runs.models import RunView, StartedRun
from core.search.candidates import DEFAULT_BLOCKLIST, parse_blocklist, parse_url_list
from core.search.repository import known_domains

BATCH_SIZE = 25


def _approved_campaign(uow: UnitOfWork, actor: Actor, campaign_id: int) -> Campaign:
    campaign = uow.session.get(Campaign, campaign_id)
    if campaign is None or campaign.workspace_id != actor.workspace_id:
        raise NotFound(f"Campaign {campaign_id} does not exist in this workspace.")
    if campaign.approved_version_id is None:
        raise InvalidInput("Approve a strategy version first; a run uses the approved version.")
    return campaign


def start_run(*, actor: Actor, campaign_id: int, runner: background.Runner | None = None) -> StartedRun:
    """Start a run of the campaign's approved strategy: a search job that queues crawl batches."""
    actor.require_permission("run.start")
    if not get_settings().brave_enabled:
        raise InvalidInput(
            "Brave Search is not configured (BRAVE_API_KEY), so LeadScout cannot search the web. "
            "Paste the websites you want analysed instead."
        )
    with UnitOfWork() as uow:
        campaign = _approved_campaign(uow, actor, campaign_id)
        run = Run(
            workspace_id=actor.workspace_id,
            campaign_id=campaign.id,
            strategy_version_id=campaign.approved_version_id,
            status="searching",
        )
        uow.session.add(run)
        campaign.status = "running"
        uow.flush()
        audit(uow, "run.started", actor=actor, target_type="run", target_id=run.id)
        uow.commit()
        run_id = run.id
    background.submit(kind="runs.search", args={"run_id": run_id}, actor=actor, runner=runner)
    return StartedRun(run_id=run_id)


def start_run_from_urls(
    *, actor: Actor, campaign_id: int, urls_text: str, runner: background.Runner | None = None
) -> StartedRun:
    """Start a run on pasted URLs (one per line); bad lines come back with their reasons."""

    actor.require_permission("run.start")
    with UnitOfWork() as uow:
        campaign = _approved_campaign(uow, actor, campaign_id)
        parsed = parse_url_list(
            urls_text,
            known_domains=known_domains(uow, workspace_id=actor.workspace_id),
            blocklist=DEFAULT_BLOCKLIST | parse_blocklist(get_settings().search_blocklist),
        )
        rejected = tuple((r.line_no, r.text, r.reason) for r in parsed.rejected)
        if not parsed.candidates:
            reasons = "; ".join(f"line {n}: {why}" for n, _, why in rejected[:5])
            raise InvalidInput(
                "None of the pasted lines is a new company website" + (f" ({reasons})." if reasons else ".")
            )
        run = Run(
            workspace_id=actor.workspace_id,
            campaign_id=campaign.id,
            strategy_version_id=campaign.approved_version_id,
            status="crawling",
        )
        uow.session.add(run)
        campaign.status = "running"
        uow.flush()
        for candidate in parsed.candidates:
            uow.session.add(
                RunSite(
                    workspace_id=actor.workspace_id,
                    run_id=run.id,
                    domain=candidate.domain,
                    url=candidate.url,
                    source="manual",
                )
            )
        uow.commit()
        run_id, domains = run.id, [c.domain for c in parsed.candidates]
    submit_batches(workspace_id=actor.workspace_id, run_id=run_id, domains=domains, runner=runner)
    return StartedRun(run_id=run_id, rejected=rejected)


def submit_batches(
    *, workspace_id: int, run_id: int, domains: list[str], runner: background.Runner | None = None
) -> int:
    """Queue crawl jobs of ``BATCH_SIZE`` sites each; returns how many jobs were queued."""
    for start in range(0, len(domains), BATCH_SIZE):
        background.submit(
            kind="runs.crawl_batch",
            args={"run_id": run_id, "domains": domains[start : start + BATCH_SIZE]},
            workspace_id=workspace_id,
            runner=runner,
        )
    return (len(domains) + BATCH_SIZE - 1) // BATCH_SIZE


def _run_jobs(uow: UnitOfWork, run: Run) -> list[Job]:
    rows = uow.session.scalars(
        select(Job).where(
            Job.workspace_id == run.workspace_id, Job.kind.like("runs.%"), Job.created_at >= run.created_at
        )
    )
    return [job for job in rows if (job.args or {}).get("run_id") == run.id]


def get_run_or_raise(*, actor: Actor, run_id: int) -> RunView:
    """The run's progress; ``NotFound`` for another workspace's run."""
    actor.require_permission("campaign.view")
    with UnitOfWork() as uow:
        run = uow.session.get(Run, run_id)
        if run is None or run.workspace_id != actor.workspace_id:
            raise NotFound(f"Run {run_id} does not exist in this workspace.")
        # one statement for the site counts: on PostgreSQL each statement reads its own snapshot, so counts read
        # apart while a crawl stores sites could disagree (more new leads than sites crawled: "-1 updated")
        by_status = uow.session.execute(
            select(
                RunSite.status,
                func.count(),
                func.count().filter(RunSite.lead_created.is_(True)),
                func.count(Lead.id).filter(Lead.score.is_not(None)),
            )
            .select_from(RunSite)
            .outerjoin(Lead, Lead.id == RunSite.lead_id)
            .where(RunSite.run_id == run.id)
            .group_by(RunSite.status)
        ).all()
        counts = {status: count for status, count, _created, _scored in by_status}
        created = sum(row[2] for row in by_status)
        scored = sum(row[3] for row in by_status if row[0] == "crawled")
        hits = uow.session.scalar(select(func.count()).select_from(SearchHit).where(SearchHit.run_id == run.id)) or 0
        run_jobs = _run_jobs(uow, run)
        errors = tuple(job.error for job in run_jobs if job.status == "failed" and job.error)
        crawled = counts.get("crawled", 0)
        return RunView(
            id=run.id,
            campaign_id=run.campaign_id,
            status=run.status,
            created_at=run.created_at,
            finished_at=run.finished_at,
            hits=hits,
            sites_total=sum(counts.values()),
            sites_queued=counts.get("queued", 0),
            sites_crawled=crawled,
            sites_failed=counts.get("failed", 0),
            sites_skipped=counts.get("skipped", 0),
            leads_created=created,
            leads_updated=crawled - created,
            active_jobs=sum(job.status in JOB_ACTIVE_STATUSES for job in run_jobs),
            failed_jobs=sum(job.status == "failed" for job in run_jobs),
            errors=errors,
            sites_cancelled=counts.get("cancelled", 0),
            leads_scored=scored,
            retrying=tuple(
                f"Job {job.id} ({job.kind}) {background.view_of(job).state}"
                for job in run_jobs
                if job.status == "retrying"
            ),
        )


def list_runs(*, actor: Actor, campaign_id: int) -> list[RunView]:
    """The campaign's runs, newest first."""
    actor.require_permission("campaign.view")
    with UnitOfWork() as uow:
        ids = uow.session.scalars(
            select(Run.id)
            .where(Run.workspace_id == actor.workspace_id, Run.campaign_id == campaign_id)
            .order_by(Run.id.desc())
        ).all()
    return [get_run_or_raise(actor=actor, run_id=run_id) for run_id in ids]


def cancel_run(*, actor: Actor, run_id: int) -> RunView:
    """Stop a run: its queued and running jobs are cancelled, its sites not crawled yet end as cancelled (a batch
    still running stores nothing more), and the campaign is no longer running unless another run of it is."""
    actor.require_permission("run.cancel")
    with UnitOfWork() as uow:
        run = uow.session.get(Run, run_id)
        if run is None or run.workspace_id != actor.workspace_id:
            raise NotFound(f"Run {run_id} does not exist in this workspace.")
        active = [job.id for job in _run_jobs(uow, run) if job.status in JOB_ACTIVE_STATUSES]
        if run.status in ("queued", "searching", "crawling"):
            run.status, run.finished_at = "cancelled", utcnow()
        uow.session.execute(
            update(RunSite)
            .where(RunSite.run_id == run.id, RunSite.status == "queued")
            .values(status="cancelled", error="the run was cancelled")
        )
        campaign = uow.session.get(Campaign, run.campaign_id)
        still_running = uow.session.scalar(
            select(Run.id)
            .where(
                Run.campaign_id == run.campaign_id,
                Run.id != run.id,
                Run.status.in_(("queued", "searching", "crawling")),
            )
            .limit(1)
        )
        if campaign is not None and campaign.status == "running" and still_running is None:
            campaign.status = "approved"
        audit(uow, "run.cancelled", actor=actor, target_type="run", target_id=run_id)
        uow.commit()
    for job_id in active:
        try:
            background.cancel(actor=actor, job_id=job_id)
        except InvalidInput:
            pass  # finished in the meantime
    return get_run_or_raise(actor=actor, run_id=run_id)


def searches_this_month(*, actor: Actor) -> int:
    """Search API requests made by this workspace since the first of the month (UTC)."""
    actor.require_permission("campaign.view")
    start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with UnitOfWork() as uow:
        return (
            uow.session.scalar(
                select(func.count())
                .select_from(SearchCall)
                .where(SearchCall.workspace_id == actor.workspace_id, SearchCall.created_at >= start)
            )
            or 0
        )


def search_available() -> bool:
    """True when web search is configured, so approving a strategy can start a run by itself."""
    return get_settings().brave_enabled


def recrawl_leads(*, actor: Actor, lead_ids: list[int]) -> list[int]:
    """Crawl the selected leads' websites again as a run of their campaign; returns the run ids."""
    actor.require_permission("lead.recrawl")
    by_run: dict[int, list[str]] = {}
    with UnitOfWork() as uow:
        ids = owned_lead_ids(uow, actor, lead_ids)
        if not ids:
            raise InvalidInput("Select at least one lead to re-crawl.")
        fallback = uow.session.scalar(
            select(Campaign)
            .where(Campaign.workspace_id == actor.workspace_id, Campaign.approved_version_id.is_not(None))
            .order_by(Campaign.id.desc())
        )
        groups: dict[int, list[Lead]] = {}
        for lead in uow.session.scalars(select(Lead).where(Lead.id.in_(ids))):
            campaign = uow.session.get(Campaign, lead.campaign_id) if lead.campaign_id else None
            campaign = campaign if campaign is not None and campaign.approved_version_id else fallback
            if campaign is None:
                raise InvalidInput("Re-crawl needs an approved campaign: approve a strategy first.")
            groups.setdefault(campaign.id, []).append(lead)
        for campaign_id, leads in groups.items():
            campaign = uow.session.get(Campaign, campaign_id)
            assert campaign is not None and campaign.approved_version_id is not None
            run = Run(
                workspace_id=actor.workspace_id,
                campaign_id=campaign_id,
                strategy_version_id=campaign.approved_version_id,
                status="crawling",
                stats={"recrawl": True},
            )
            uow.session.add(run)
            uow.flush()
            for lead in leads:
                uow.session.add(
                    RunSite(
                        workspace_id=actor.workspace_id,
                        run_id=run.id,
                        domain=lead.domain,
                        url=lead.website or f"https://{lead.domain}/",
                        source="manual",
                    )
                )
            by_run[run.id] = [lead.domain for lead in leads]
        audit(
            uow, "lead.recrawl", actor=actor, target_type="lead", detail={"lead_ids": ids[:1000], "runs": list(by_run)}
        )
        uow.commit()
    for run_id, domains in by_run.items():
        submit_batches(workspace_id=actor.workspace_id, run_id=run_id, domains=domains)
    return list(by_run)
