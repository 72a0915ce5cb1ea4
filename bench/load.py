"""Load: 10 browser sessions on the leads page (10k leads) while a worker crawls 500 fixture sites.

    PYTHONPATH=. .venv/bin/python bench/load.py [--sessions 10] [--leads 10000] [--sites 500]

Starts the whole stack (UI, receiver, an RQ worker on real Redis, PostgreSQL, fixture sites),
seeds the leads, then in one run prints side by side: the crawl alone (sites/min), the leads
page render time with no crawl running (p50/p95), and both at once. Render time is measured in
Chromium from navigation to the leads table's row count being on screen.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.auth.cookies import BROWSER_COOKIE  # noqa: E402
from tests.e2e.stack import run_stack  # noqa: E402
from tests.fixtures.sites import generate_sites  # noqa: E402

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def use_stack(url: str, redis_url: str) -> None:
    """Point this process's core services at the stack's database and queue (jobs go to its worker)."""
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_URL"] = redis_url
    from core.config import get_settings
    from core.db.session import dispose_engines

    get_settings.cache_clear()
    dispose_engines()


def seed(actor, n: int) -> None:  # type: ignore[no-untyped-def]
    """``n`` leads with an email, a phone and two evidence rows each, in batches of 1,000."""
    from core.db import UnitOfWork
    from core.db.models import Contact, Evidence, Lead

    for start in range(0, n, 1000):
        with UnitOfWork() as uow:
            leads = [
                Lead(
                    workspace_id=actor.workspace_id,
                    domain=f"seed-{i}.example",
                    name=f"Seed Company {i}",
                    website=f"https://seed-{i}.example/",
                    industry=("bakery", "agency", "roaster")[i % 3],
                    location="Berlin",
                    country="DE",
                    score=float(i % 100),
                    source="csv",
                )
                for i in range(start, min(n, start + 1000))
            ]
            uow.session.add_all(leads)
            uow.flush()
            for lead in leads:
                uow.session.add_all(
                    [
                        Contact(
                            workspace_id=actor.workspace_id,
                            lead_id=lead.id,
                            kind="email",
                            value=f"info@{lead.domain}",
                            normalised_value=f"info@{lead.domain}",
                            is_role_address=True,
                        ),
                        Contact(
                            workspace_id=actor.workspace_id,
                            lead_id=lead.id,
                            kind="phone",
                            value="+4930123456",
                            normalised_value="+4930123456",
                        ),
                        Evidence(
                            workspace_id=actor.workspace_id,
                            lead_id=lead.id,
                            field="email",
                            value=f"info@{lead.domain}",
                            source_url=lead.website,
                            snippet="Mail us",
                            fingerprint=f"e{lead.id}",
                        ),
                        Evidence(
                            workspace_id=actor.workspace_id,
                            lead_id=lead.id,
                            field="name",
                            value=lead.name,
                            source_url=lead.website,
                            snippet=lead.name,
                            fingerprint=f"n{lead.id}",
                        ),
                    ]
                )
            uow.commit()


def crawl(actor, campaign_id: int, urls: list[str]) -> float:  # type: ignore[no-untyped-def]
    """Run a pasted-URL run to the end in the stack's worker; returns seconds (and checks every site ended)."""
    from core.runs import service as runs

    started = time.perf_counter()
    run = runs.start_run_from_urls(actor=actor, campaign_id=campaign_id, urls_text="\n".join(urls))
    while True:
        view = runs.get_run_or_raise(actor=actor, run_id=run.run_id)
        if view.status == "done" and not view.active_jobs:
            elapsed = time.perf_counter() - started
            print(
                f"run {view.id}: {view.sites_crawled} crawled, {view.sites_failed} failed of {view.sites_total} "
                f"in {elapsed:.1f} s",
                file=sys.stderr,
            )
            return elapsed
        time.sleep(0.2)


def browse(
    app_url: str, codes: list[tuple[str, str]], stop: threading.Event, results: list[float], rounds: int | None
) -> None:
    """Sessions (one browser context each) load the leads page concurrently, over and over, until stopped."""
    import asyncio

    from playwright.async_api import async_playwright

    async def session(browser, handoff: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
        code, nonce = handoff
        context = await browser.new_context(viewport={"width": 1400, "height": 900})
        await context.add_cookies([{"name": BROWSER_COOKIE, "value": nonce, "url": app_url}])  # the code is bound to it
        page = await context.new_page()
        await page.goto(f"{app_url}/session/start?code={code}")
        await page.wait_for_selector("text=Signed in as", timeout=60_000)
        done = 0
        while not stop.is_set() and (rounds is None or done < rounds):
            started = time.perf_counter()
            await page.goto(f"{app_url}/leads")
            await page.wait_for_selector("text=leads match", timeout=60_000)
            results.append(time.perf_counter() - started)
            done += 1

    async def run() -> None:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
            await asyncio.gather(*(session(browser, code) for code in codes))
            await browser.close()

    asyncio.run(run())


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else (values[0] if values else float("nan"))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--sites", type=int, default=500)
    args = parser.parse_args()

    sites = generate_sites(args.sites * 2, seed=99, quirks=False)
    with run_stack(
        sites=sites,
        answer_for=lambda payload: {},
        logs=Path("/tmp/leadscout-load"),
        latency=True,
        extra_env={"OPENAI_API_KEY": ""},
    ) as stack:
        use_stack(stack.database_url, stack.env["REDIS_URL"])
        from core.auth import service as auth
        from core.strategy import service as strategy

        auth.sign_up(email="load@example.test", password="a long password", workspace_name="Load")
        signed = auth.sign_in(email="load@example.test", password="a long password")
        actor = auth.actor_for(user_id=signed.user_id, workspace_id=signed.workspaces[0][0])
        seed(actor, args.leads)
        plan = strategy.create_campaign_from_goal(actor=actor, goal="software agencies in Berlin", llm=None)
        strategy.approve(actor=actor, campaign_id=plan.campaign_id, version_id=plan.id)
        urls = [stack.site_server.url_of(site) for site in sites]

        def one_time_codes() -> list[tuple[str, str]]:
            """Fresh sign-in codes (they expire after a minute) and the browser cookie each is bound to, one per session."""
            codes = []
            for _ in range(args.sessions):
                nonce = secrets.token_urlsafe(32)
                token = auth.sign_in(email="load@example.test", password="a long password").token
                codes.append((auth.create_handoff(token=token, browser=nonce), nonce))
            return codes

        alone = crawl(actor, plan.campaign_id, urls[: args.sites])
        codes = one_time_codes()

        idle: list[float] = []
        browse(stack.app_url, codes, threading.Event(), idle, rounds=2)
        codes = one_time_codes()

        busy: list[float] = []
        stop = threading.Event()
        browser = threading.Thread(target=browse, args=(stack.app_url, codes, stop, busy, None))
        browser.start()
        time.sleep(5)  # sessions signed in and browsing before the crawl starts
        loaded = crawl(actor, plan.campaign_id, urls[args.sites :])
        stop.set()
        browser.join()

    print(
        f"{args.sessions} browser sessions on the leads page ({args.leads:,} leads), {args.sites} fixture sites per crawl, "
        f"one rq worker, 50-200 ms per response, 2 cores"
    )
    print(f"{'scenario':<34} {'crawl s':>8} {'sites/min':>10} {'renders':>8} {'p50 s':>7} {'p95 s':>7}")
    print("-" * 80)
    print(f"{'crawl alone':<34} {alone:>8.1f} {args.sites / alone * 60:>10.0f} {'-':>8} {'-':>7} {'-':>7}")
    print(f"{'leads page alone':<34} {'-':>8} {'-':>10} {len(idle):>8} {pct(idle, 50):>7.2f} {pct(idle, 95):>7.2f}")
    print(
        f"{f'crawl + {args.sessions} sessions browsing':<34} {loaded:>8.1f} {args.sites / loaded * 60:>10.0f} {len(busy):>8} "
        f"{pct(busy, 50):>7.2f} {pct(busy, 95):>7.2f}"
    )
    print(f"crawl throughput under load: {alone / loaded:.0%} of the crawl alone")


if __name__ == "__main__":
    main()
