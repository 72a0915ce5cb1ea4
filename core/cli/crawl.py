"""``run``, ``crawl-url`` and ``analyze-url``: discovery and website analysis from the command line."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict

from core.cli.output import fail, print_json


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the discovery subcommands."""
    run = subparsers.add_parser(
        "run",
        help="run a campaign's approved strategy (search, crawl, analyse), or analyse a file of websites",
        description="run CAMPAIGN_ID runs that campaign. run --workspace NAME --urls FILE [--goal TEXT] creates a "
        "campaign named after the file (the goal's strategy, or the default rubric without --goal) and analyses "
        "those websites. Exit 0 when every site was handled, 3 when some failed, 1 on an error.",
    )
    run.add_argument("campaign_id", type=int, nargs="?")
    run.add_argument("--workspace", help="workspace name (with --urls and no CAMPAIGN_ID: a new campaign there)")
    run.add_argument("--urls", help="a file of websites (one per line) to analyse instead of searching")
    run.add_argument("--goal", default="", help="with --workspace: plan the new campaign's strategy from this goal")
    run.add_argument("--wait", action="store_true", help="print progress until the run ends")
    run.add_argument("--json", action="store_true", help="end with one JSON object: id, status, sites, leads")
    run.set_defaults(func=run_campaign)

    crawl = subparsers.add_parser("crawl-url", help="crawl one site and print the pages and crawl log as JSON")
    crawl.add_argument("url")
    crawl.add_argument("--json", action="store_true", help="JSON output (the default)")
    crawl.set_defaults(func=crawl_url)

    analyze = subparsers.add_parser("analyze-url", help="crawl one site and print its extracted profile as JSON")
    analyze.add_argument("url")
    analyze.add_argument("--json", action="store_true", help="JSON output (the default)")
    analyze.set_defaults(func=analyze_url)


def run_campaign(args: argparse.Namespace) -> int:
    """Start a run; with --wait (always, when jobs run in this process) follow it to the end."""
    from pathlib import Path

    from core.auth.admin import campaign_workspace, owner_actor, workspace_id_by_name
    from core.config import get_settings
    from core.runs import service as runs
    from core.strategy import service as strategy

    if args.campaign_id is None:
        if not (args.workspace and args.urls):
            return fail("give a CAMPAIGN_ID, or --workspace NAME and --urls FILE")
        if not Path(args.urls).is_file():
            return fail(f"no such file: {args.urls}")
        actor = owner_actor(workspace_id=workspace_id_by_name(args.workspace))
        campaign_id = strategy.create_campaign_for_websites(actor=actor, name=Path(args.urls).name, goal=args.goal).id
    else:
        if args.goal:
            return fail("--goal makes a new campaign: give --workspace and --urls instead of a CAMPAIGN_ID")
        campaign_id = args.campaign_id
        actor = owner_actor(workspace_id=campaign_workspace(campaign_id=campaign_id))
        if args.workspace and workspace_id_by_name(args.workspace) != actor.workspace_id:
            return fail(f"campaign {campaign_id} is not in workspace '{args.workspace}'")
    if args.urls:
        with open(args.urls, encoding="utf-8") as handle:
            started = runs.start_run_from_urls(actor=actor, campaign_id=campaign_id, urls_text=handle.read())
        for line, text, reason in started.rejected:
            print(f"line {line} skipped ({text.strip()[:60]}): {reason}", file=sys.stderr)
    else:
        started = runs.start_run(actor=actor, campaign_id=campaign_id)
    embedded = not get_settings().redis_enabled
    view = runs.get_run_or_raise(actor=actor, run_id=started.run_id)
    while (args.wait or embedded) and (view.is_active or view.active_jobs):
        print(
            f"run {view.id}: {view.status}, {view.hits} hits, {view.sites_crawled}/{view.sites_total} crawled, "
            f"{view.sites_failed} failed, {view.leads_created} new leads"
            + "".join(f"; {line}" for line in view.retrying),
            file=sys.stderr,
        )
        time.sleep(2)
        view = runs.get_run_or_raise(actor=actor, run_id=started.run_id)
    summary = {
        "id": view.id,
        "campaign_id": view.campaign_id,
        "status": view.status,
        "sites": view.sites_total,
        "sites_stored": view.sites_crawled,
        "sites_failed": view.sites_failed,
        "sites_skipped": view.sites_skipped,
        "sites_cancelled": view.sites_cancelled,
        "sites_queued": view.sites_queued,
        "leads_created": view.leads_created,
        "leads_updated": view.leads_updated,
        "leads_scored": view.leads_scored,
        "failed_jobs": view.failed_jobs,
        "errors": list(view.errors),
        "rejected": [{"line": n, "text": text, "reason": why} for n, text, why in started.rejected],
    }
    print_json(summary if args.json else {**asdict(view), "rejected": started.rejected})
    if view.failed_jobs or (view.status not in ("done",) and not view.is_active):
        return 1
    return 3 if view.sites_failed else 0


def _crawl(url: str):  # type: ignore[no-untyped-def]
    from core.config import get_settings
    from core.crawl.override import resolver_from_settings
    from core.crawl.site import crawl_site

    settings = get_settings()
    return crawl_site(url, settings=settings, resolver=resolver_from_settings(settings.crawl_resolve))


def crawl_url(args: argparse.Namespace) -> int:
    """Fetch one site with the page selection; print pages and the crawl log."""
    site = _crawl(args.url)
    print_json(
        {
            "start_url": site.start_url,
            "final_url": site.final_url,
            "domain": site.domain,
            "error": site.error,
            "pages": [
                {
                    "url": p.url,
                    "final_url": p.final_url,
                    "kind": p.kind,
                    "status": p.status,
                    "chars": len(p.html or ""),
                    "encoding": p.encoding,
                }
                for p in site.pages
            ],
            "log": [asdict(entry) for entry in site.log],
            "skipped": [{"url": url, "reason": reason} for url, reason in site.skipped],
        }
    )
    return 0 if site.ok else 1


def analyze_url(args: argparse.Namespace) -> int:
    """Crawl one site and print the merged SiteProfile (the analysis ``POST /api/v1/analyses`` runs as a job)."""
    from core.runs.analyses import crawl_and_extract

    site, profile = crawl_and_extract(args.url)
    if profile is None:
        print(f"error: {site.error or 'nothing could be fetched'}", file=sys.stderr)
        return 1
    print_json(profile)
    return 0
