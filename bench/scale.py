"""Scale-out: the same run of local sites with 1, 2 and 4 RQ workers, and the time from a SIGKILL to the run's end.

    PYTHONPATH=. .venv/bin/python bench/scale.py --database-url postgresql+psycopg://… --redis-url redis://…/N
        [--sites 200] [--workers 1,2,4]

Each row is a fresh workspace: a run of ``--sites`` fixture sites (50–200 ms per response) pasted as URLs,
crawled, extracted, stored and rule-scored (no LLM) by workers started with the Procfile's command on real
PostgreSQL and Redis. Printed side by side: sites/min and CPU seconds per site (the workers and their work
horses) for each worker count, then two runs with 2 workers where a work horse, and then a whole worker
(a replacement starts at once), is SIGKILLed mid-run: the time from the SIGKILL to the run's end, next to
the same run's length without a kill and the delays that bound it (JOB_RETRY_DELAYS, JOB_LEASE_SECONDS).
The database's and Redis's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.site_server import SiteServer  # noqa: E402
from tests.fixtures.sites import generate_sites  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
RETRY_DELAYS, LEASE = "[10,60,300]", "15"


def fixture_crawl_env(*, database_url: str, redis_url: str, port: int) -> dict[str, str]:
    """The environment of processes that crawl the local fixture sites served on ``port``: private addresses and
    that port allowed, every ``.test`` name on loopback, no keys, the retry delays and lease above, and open
    sign-up (each run makes its own workspace)."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CRAWL_ALLOW_PRIVATE": "127.0.0.1/32",
        "CRAWL_ALLOWED_PORTS": f"80,443,{port}",
        "CRAWL_RESOLVE": "*.test=127.0.0.1",
        "CRAWL_PER_HOST_DELAY": "0",
        "OPENAI_API_KEY": "",
        "BRAVE_API_KEY": "",
        "JOB_RETRY_DELAYS": RETRY_DELAYS,
        "JOB_LEASE_SECONDS": LEASE,
        "OPEN_SIGNUP": "true",  # each run signs up a workspace of its own; after the first, sign-up is by invitation
    }


def worker_command(redis_url: str) -> list[str]:
    """The Procfile's worker line."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("worker:"))
    words = shlex.split(line.partition(":")[2].replace("$REDIS_URL", redis_url))
    return [str(Path(sys.executable).with_name(words[0])), *words[1:]]


def stat(pid: int) -> list[str]:
    return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and of its children it has waited for (the work horses)."""
    fields = stat(pid)
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


def horse_of(worker_pid: int) -> int | None:
    """The worker's work horse: its child in a process group of its own."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = stat(int(entry.name))
            except OSError:
                continue
            if int(fields[1]) == worker_pid and int(fields[2]) == int(entry.name):
                return int(entry.name)
    return None


class Workers:
    def __init__(self, env: dict[str, str], redis_url: str) -> None:
        self.env, self.redis_url = env, redis_url
        self.procs: list[subprocess.Popen[bytes]] = []
        self.cpu_of_dead = 0.0

    def start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(worker_command(self.redis_url), cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill_whole(self, proc: subprocess.Popen[bytes]) -> None:
        horse = horse_of(proc.pid)
        self.cpu_of_dead += cpu_seconds(proc.pid)  # up to the kill; the killed horse's own time is lost
        os.killpg(proc.pid, signal.SIGKILL)
        if horse:
            os.kill(horse, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> float:
        """Stop every worker; their CPU seconds (with the horses they waited for)."""
        total = self.cpu_of_dead
        for proc in self.procs:
            if proc.poll() is None:
                total += cpu_seconds(proc.pid)
                os.killpg(proc.pid, signal.SIGKILL)
                horse = horse_of(proc.pid)
                if horse:
                    os.kill(horse, signal.SIGKILL)
                proc.wait(10)
        return total


def new_actor():  # type: ignore[no-untyped-def]
    from core.auth import service as auth

    email = f"scale-{secrets.token_hex(4)}@example.test"
    auth.sign_up(email=email, password="a long password", workspace_name=f"Scale {secrets.token_hex(3)}")
    signed = auth.sign_in(email=email, password="a long password")
    return auth.actor_for(user_id=signed.user_id, workspace_id=signed.workspaces[0][0])


def one_run(server: SiteServer, sites: list, env: dict[str, str], redis_url: str, n_workers: int,  # type: ignore[type-arg]
            kill: str = "") -> dict[str, float]:
    from core import background
    from core.config import get_settings
    from core.runs import service as runs
    from core.strategy import service as strategy

    actor = new_actor()
    campaign = strategy.create_campaign_for_websites(actor=actor, name="scale.txt", llm=None)
    workers = Workers(env, redis_url)
    procs = [workers.start() for _ in range(n_workers)]
    started_at = time.monotonic()
    started = runs.start_run_from_urls(actor=actor, campaign_id=campaign.id,
                                       urls_text="\n".join(server.url_of(s) for s in sites),
                                       runner=background.RQRunner(get_settings()))
    killed_at = None
    while True:
        view = runs.get_run_or_raise(actor=actor, run_id=started.run_id)
        if view.status in ("done", "cancelled") and not view.active_jobs:
            break
        if kill and killed_at is None and view.sites_crawled >= len(sites) // 4 and horse_of(procs[0].pid):
            killed_at = time.monotonic()
            if kill == "horse":
                os.kill(horse_of(procs[0].pid) or 0, signal.SIGKILL)
            else:
                workers.kill_whole(procs[0])
                workers.start()
        time.sleep(0.2)
    ended = time.monotonic()
    cpu = workers.stop()
    return {
        "seconds": ended - started_at,
        "sites": view.sites_crawled,
        "failed": view.sites_failed,
        "scored": view.leads_scored,
        "cpu": cpu,
        "kill_to_end": ended - killed_at if killed_at else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL (the workers share it)")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    sites = generate_sites(args.sites, seed=7, quirks=False)
    with SiteServer(sites, latency=True) as server:
        env = {
            **fixture_crawl_env(database_url=args.database_url, redis_url=args.redis_url, port=server.port),
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
        from core.config import get_settings
        from core.db import migrate

        get_settings.cache_clear()
        migrate.upgrade(args.database_url)
        from redis import Redis

        Redis.from_url(args.redis_url).flushdb()

        print(f"{args.sites} fixture sites, batches of 25, {os.cpu_count()} cores (shared with other work while it ran)")
        print(f"{'workers':>7} | {'seconds':>7} | {'sites/min':>9} | {'CPU s/site':>10} | stored | failed | scored")
        rows = {}
        for n in counts:
            row = one_run(server, sites, env, args.redis_url, n)
            rows[n] = row
            print(f"{n:>7} | {row['seconds']:7.1f} | {row['sites'] * 60 / row['seconds']:9.1f} | "
                  f"{row['cpu'] / max(row['sites'], 1):10.3f} | {row['sites']:>6.0f} | {row['failed']:>6.0f} | "
                  f"{row['scored']:>6.0f}")
        base = rows.get(2) or one_run(server, sites, env, args.redis_url, 2)
        print(f"\nSIGKILL with 2 workers at a quarter of the sites stored (JOB_RETRY_DELAYS={RETRY_DELAYS}, "
              f"JOB_LEASE_SECONDS={LEASE}); the same run without a kill took {base['seconds']:.1f} s")
        print(f"{'killed':>12} | {'run s':>6} | {'SIGKILL to end s':>16} | stored | failed | scored")
        for kill in ("horse", "whole worker"):
            row = one_run(server, sites, env, args.redis_url, 2, kill="horse" if kill == "horse" else "worker")
            print(f"{kill:>12} | {row['seconds']:6.1f} | {row['kill_to_end']:16.1f} | {row['sites']:>6.0f} | "
                  f"{row['failed']:>6.0f} | {row['scored']:>6.0f}")


if __name__ == "__main__":
    main()
