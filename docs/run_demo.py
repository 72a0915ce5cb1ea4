"""Issue 21's evidence run: ``python -m core run --workspace NAME --urls FILE --wait --json`` on 100 local sites,
on PostgreSQL and Redis, with two RQ workers started with the Procfile's ``worker:`` command, and one work
horse SIGKILLed once about a quarter of the sites are stored: the horse of a batch caught with sites stored but not
yet scored (what the retry must finish; issue 21 item 1), or any busy horse once half the sites are stored.

    PYTHONPATH=. .venv/bin/python docs/run_demo.py --database-url postgresql+psycopg://… --redis-url redis://…/N

The sites are tests/fixtures/sites.py's generated sites (no failure quirks), served by tests/fixtures/site_server.py
on 127.0.0.1 with 50-200 ms per response; the crawler reaches them through the same settings as bench/scale.py
(CRAWL_ALLOW_PRIVATE, CRAWL_ALLOWED_PORTS, CRAWL_RESOLVE). No LLM (rule scoring only). The Redis database given is
flushed first. Printed: the command line, its exit code, the last JSON object it printed, then what the database
holds: leads per domain, leads without a score, the run's sites by status and step, and the run's job rows
(attempts, status, error). The script exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import (  # noqa: E402 - the Procfile's worker line, the work horse, the crawl's environment
    LEASE,
    RETRY_DELAYS,
    fixture_crawl_env,
    horse_of,
    worker_command,
)
from tests.fixtures.site_server import SiteServer  # noqa: E402
from tests.fixtures.sites import generate_sites  # noqa: E402

SITES, SEED = 100, 21


def log(*parts: object) -> None:
    print(*parts, flush=True)


def last_json_object(text: str) -> dict | None:  # type: ignore[type-arg]
    """The last JSON object in ``text`` that starts at the beginning of a line and runs to the end."""
    decoder = json.JSONDecoder()
    found = None
    for start in [i for i, ch in enumerate(text) if ch == "{" and (i == 0 or text[i - 1] == "\n")]:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and not text[end:].strip():
            found = value
    return found


def main() -> int:  # noqa: C901 - one script, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL (the workers and the command share it)")
    parser.add_argument("--redis-url", required=True, help="a Redis database of its own (it is flushed)")
    args = parser.parse_args()

    sites = generate_sites(SITES, seed=SEED, quirks=False)
    workdir = Path(tempfile.mkdtemp(prefix="run-demo-"))
    with SiteServer(sites, latency=True) as server:
        env = fixture_crawl_env(database_url=args.database_url, redis_url=args.redis_url, port=server.port)
        os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
        from redis import Redis
        from sqlalchemy import func, select

        from core.auth import admin
        from core.config import get_settings
        from core.db import UnitOfWork, migrate
        from core.db.models import Job, Lead, Run, RunSite

        get_settings.cache_clear()
        migrate.upgrade(args.database_url)
        redis = Redis.from_url(args.redis_url)
        redis.flushdb()
        flushes_before = redis.info("commandstats").get("cmdstat_flushdb", {}).get("calls", 0)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        workspace = f"Run demo {stamp}"
        ids = admin.create_user(
            email=f"run-demo-{secrets.token_hex(4)}@example.test",
            password="a long demo password",
            workspace_name=workspace,
        )
        workspace_id = ids["workspace_id"]
        urls = workdir / "sites-100.txt"
        urls.write_text("".join(server.url_of(site) + "\n" for site in sites))

        log(
            f"started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC on {os.uname().nodename}, {os.cpu_count()} cores, "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        log(
            f"{SITES} fixture sites (seed {SEED}, no failure quirks) on 127.0.0.1:{server.port}, 50-200 ms a response; "
            f"URL file {urls} ({len(urls.read_text().splitlines())} lines)"
        )
        log(f"workspace '{workspace}' (id {workspace_id}); JOB_RETRY_DELAYS={RETRY_DELAYS} JOB_LEASE_SECONDS={LEASE}")

        workers: list[subprocess.Popen[bytes]] = []
        log("workers (2), each: " + shlex.join(worker_command(args.redis_url)))
        for n in (1, 2):
            with open(workdir / f"worker-{n}.log", "wb") as worker_log:
                workers.append(
                    subprocess.Popen(
                        worker_command(args.redis_url),
                        cwd=ROOT,
                        env=env,
                        stdout=worker_log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        command = [
            sys.executable,
            "-m",
            "core",
            "run",
            "--workspace",
            workspace,
            "--urls",
            str(urls),
            "--wait",
            "--json",
        ]
        log("command: " + shlex.join(command))
        started = time.monotonic()
        with open(workdir / "stdout.txt", "wb") as out, open(workdir / "stderr.txt", "wb") as err:
            cli = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)

        killed: tuple[float, int, int, int] | None = None  # (when, horse pid, worker pid, job id)
        stored_at_kill, retry_seen = 0, False
        try:
            while cli.poll() is None:
                if time.monotonic() - started > 600:
                    log("the command did not end within 10 minutes; stopping it")
                    cli.kill()
                    break
                if killed is None:
                    # A quarter of the sites stored, and a batch caught with sites stored but not yet scored (what a
                    # retry must finish); past half the sites, any busy work horse.
                    with UnitOfWork() as uow:
                        stored = (
                            uow.session.scalar(
                                select(func.count())
                                .select_from(RunSite)
                                .where(RunSite.workspace_id == workspace_id, RunSite.status == "crawled")
                            )
                            or 0
                        )
                        busy = {}  # worker pid -> (job id, its sites stored but not scored)
                        for job_id, runner, job_args in uow.session.execute(
                            select(Job.id, Job.runner, Job.args).where(
                                Job.workspace_id == workspace_id,
                                Job.kind == "runs.crawl_batch",
                                Job.status == "running",
                            )
                        ):
                            unscored_now = uow.session.scalar(
                                select(func.count())
                                .select_from(RunSite)
                                .where(
                                    RunSite.workspace_id == workspace_id,
                                    RunSite.domain.in_(list(job_args["domains"])),
                                    RunSite.step == "stored",
                                )
                            )
                            for worker in workers:
                                if f":{worker.pid}:" in (runner or ""):
                                    busy[worker.pid] = (job_id, unscored_now or 0)
                    candidates = [
                        (worker, horse, *busy[worker.pid])
                        for worker in workers
                        if worker.pid in busy and (horse := horse_of(worker.pid))
                    ]
                    candidates.sort(key=lambda c: -c[3])
                    if candidates and stored >= SITES // 4 and (candidates[0][3] > 0 or stored >= SITES // 2):
                        worker, horse, job_id, _n = candidates[0]
                        os.kill(horse, signal.SIGKILL)
                        killed, stored_at_kill = (time.monotonic(), horse, worker.pid, job_id), stored
                        log(
                            f"SIGKILL work horse {horse} of worker {worker.pid} (running job {job_id}, "
                            f"crawl batch) at {datetime.now(UTC):%H:%M:%S.%f}"[:-3]
                            + f" UTC, {time.monotonic() - started:.1f} s in, {stored} sites stored"
                        )
                        with UnitOfWork() as uow:
                            batch = uow.session.get(Job, job_id)
                            domains = list(batch.args["domains"]) if batch else []
                            steps = uow.session.execute(
                                select(RunSite.status, RunSite.step, func.count())
                                .where(RunSite.workspace_id == workspace_id, RunSite.domain.in_(domains))
                                .group_by(RunSite.status, RunSite.step)
                                .order_by(RunSite.status, RunSite.step)
                            ).all()
                        log(
                            f"  job {job_id}'s {len(domains)} sites just after the kill, by status/step: "
                            + ", ".join(f"{s}/{st or '-'}: {n}" for s, st, n in steps)
                        )
                elif not retry_seen:
                    with UnitOfWork() as uow:
                        row = uow.session.get(Job, killed[3])
                        if row is not None and row.status != "running":
                            retry_seen = True
                            log(
                                f"  job {row.id} {time.monotonic() - killed[0]:.1f} s after the kill: {row.status}, "
                                f"attempts {row.attempts}, retry_at {row.retry_at:%H:%M:%S.%f}"[:-3]
                                + f" UTC, error {row.error!r}"
                                if row.retry_at
                                else f"  job {row.id} after the kill: {row.status}, attempts {row.attempts}, "
                                f"error {row.error!r}"
                            )
                time.sleep(0.2)
        finally:
            ended = time.monotonic()
            for worker in workers:
                horse = horse_of(worker.pid)
                os.killpg(worker.pid, signal.SIGKILL)
                if horse:
                    os.kill(horse, signal.SIGKILL)
                worker.wait(10)
        code = cli.wait()
        flushes = redis.info("commandstats").get("cmdstat_flushdb", {}).get("calls", 0) - flushes_before

        stdout = (workdir / "stdout.txt").read_text()
        stderr_lines = (workdir / "stderr.txt").read_text().splitlines()
        summary = last_json_object(stdout)
        log(
            f"\nexit code: {code}   (command ran {ended - started:.1f} s"
            + (f"; SIGKILL to its end {ended - killed[0]:.1f} s" if killed else "; no work horse was killed")
            + ")"
        )
        log(f"stderr ({len(stderr_lines)} lines, its progress every 2 s):")
        for line in stderr_lines:
            log("  " + line)
        if killed:
            log(f"the workers' log lines about job {killed[3]} (UTC):")
            about = []
            for n in (1, 2):
                for line in (workdir / f"worker-{n}.log").read_text().splitlines():
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    message = str(entry.get("message", ""))
                    if f"job {killed[3]}" in message or f"-job-{killed[3]}-" in message:
                        about.append((str(entry.get("time", "")), n, str(entry.get("level", "")), message))
            for when, n, level, message in sorted(about):
                log(f"  {when[11:23]} worker {n} {level}: {message[:200]}")
        log("last JSON object on stdout:")
        log(json.dumps(summary, indent=2) if summary is not None else "  (none)")

        checks: list[tuple[str, bool]] = []
        with UnitOfWork() as uow:
            session = uow.session
            run_id = session.scalar(select(Run.id).where(Run.workspace_id == workspace_id).order_by(Run.id.desc()))
            per_domain = session.execute(
                select(Lead.domain, func.count()).where(Lead.workspace_id == workspace_id).group_by(Lead.domain)
            ).all()
            unscored = session.scalar(
                select(func.count()).select_from(Lead).where(Lead.workspace_id == workspace_id, Lead.score.is_(None))
            )
            by_status = session.execute(
                select(RunSite.status, RunSite.step, func.count())
                .where(RunSite.run_id == run_id)
                .group_by(RunSite.status, RunSite.step)
                .order_by(RunSite.status, RunSite.step)
            ).all()
            sites_per_domain = session.execute(
                select(RunSite.domain, func.count()).where(RunSite.run_id == run_id).group_by(RunSite.domain)
            ).all()
            created = session.scalar(
                select(func.count()).select_from(RunSite).where(RunSite.run_id == run_id, RunSite.lead_created)
            )
            jobs = session.execute(
                select(Job.id, Job.kind, Job.status, Job.attempts, Job.error, Job.progress_done, Job.progress_total)
                .where(Job.workspace_id == workspace_id)
                .order_by(Job.id)
            ).all()
        expected = {site.host for site in sites}
        twice = [(domain, n) for domain, n in per_domain if n > 1]
        log(f"\ndatabase, workspace {workspace_id}, run {run_id}:")
        log(
            f"  leads: {sum(n for _d, n in per_domain)} rows over {len(per_domain)} domains; "
            f"domains with more than one lead: {len(twice)} {twice[:5] if twice else ''}"
        )
        log(
            f"  lead domains == the {len(expected)} fixture sites' domains: {set(d for d, _n in per_domain) == expected}"
        )
        log(
            f"  run_site rows per domain: max {max((n for _d, n in sites_per_domain), default=0)}; "
            f"leads created by this run: {created}"
        )
        log(f"  leads without a score: {unscored}")
        log("  run sites by status and step: " + ", ".join(f"{s}/{st or '-'}: {n}" for s, st, n in by_status))
        log(f"  job rows ({len(jobs)}):")
        log(f"    {'id':>5} | {'kind':<22} | {'status':<9} | attempts | progress | error")
        for job_id, kind, status, attempts, error, done, total in jobs:
            mark = "  <- the killed horse's job" if killed and job_id == killed[3] else ""
            log(
                f"    {job_id:>5} | {kind:<22} | {status:<9} | {attempts:>8} | {done:>3}/{total if total is not None else '-':<4}"
                f" | {error or '-'}{mark}"
            )

        checks.append(("the command exited 0", code == 0))
        checks.append(("its JSON says status done", bool(summary) and summary.get("status") == "done"))
        checks.append(
            (
                f"its JSON: {SITES} stored, 0 failed, {SITES} scored",
                bool(summary)
                and (summary.get("sites_stored"), summary.get("sites_failed"), summary.get("leads_scored"))
                == (SITES, 0, SITES),
            )
        )
        checks.append(("a work horse was SIGKILLed mid-batch", killed is not None))
        checks.append(
            (
                f"every site stored once ({SITES} leads, one per fixture domain)",
                not twice and len(per_domain) == SITES and {d for d, _n in per_domain} == expected,
            )
        )
        checks.append(("no lead without a score", unscored == 0))
        if killed:
            job = next((j for j in jobs if j[0] == killed[3]), None)
            checks.append(
                (
                    "the killed horse's job was retried and succeeded, its error 'worker died (signal 9)'",
                    job is not None and job[2] == "succeeded" and job[3] >= 2 and job[4] == "worker died (signal 9)",
                )
            )
        checks.append(("no job failed", all(j[2] == "succeeded" for j in jobs)))
        # The Redis server is shared with other work on this machine: a FLUSHDB from elsewhere (of any database)
        # while the run went on is shown, since one of this database would drop queued jobs.
        log(f"\nFLUSHDB calls on the Redis server (any database) by anyone while the run went on: {flushes}")
        log(f"\nchecks (SIGKILL at {stored_at_kill} of {SITES} sites stored):")
        for what, ok in checks:
            log(f"  {'ok  ' if ok else 'FAIL'} {what}")
        log(
            f"ended {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; logs in {workdir}"
        )
        return 0 if all(ok for _w, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
