"""GET /api/v1/leads at 100k leads, through a real uvicorn process, beside the same core call made directly.

For each database (SQLite, and PostgreSQL unless --no-pg): 100,000 leads are bulk-inserted into one
workspace, the web service (``uvicorn api.app:app``, one process, loopback only) is started on a free port,
and one client measures the first page, a filter, and the page 500 pages deep reached by following
``next_cursor`` (p50/p95 of repeated requests). Then 50 concurrent clients (threads, one connection
each, a bounded number of requests) list the first page: throughput and p95. Every figure is printed
beside ``core.leads.query.list_leads_after`` called directly with the same arguments and concurrency.
Goals: p95 <= 100 ms for each single-client request; the cursor page costs no more than the first page.

    PYTHONPATH=. .venv/bin/python bench/api.py [--leads 100000] [--database both|sqlite|postgresql]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--pg-in-place]

On PostgreSQL a scratch database is made next to ``--pg-url``'s and dropped afterwards; with ``--pg-in-place``
the database of ``--pg-url`` itself is used (migrated, and left holding the benchmark's workspace), for a
server where the benchmark may not create databases. ``--no-pg`` is ``--database sqlite``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_P95 = 0.100
CLIENTS = 50
PAGE = 50
DEEP = 500


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def repeat(fn: Callable[[], object], n: int) -> list[float]:
    fn()  # warm
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def concurrent(fn: Callable[[], object], clients: int, per_client: int) -> tuple[float, list[float]]:
    """``clients`` threads each calling ``fn`` ``per_client`` times; (requests per second, latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def worker() -> None:
        barrier.wait()
        mine = []
        for _ in range(per_client):
            start = time.perf_counter()
            fn()
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result()
    return clients * per_client / (time.perf_counter() - started), latencies


def child(n: int, repeats: int, per_client: int) -> dict[str, object]:
    import httpx

    from bench.leads import generate, migrated, owner
    from core.apikeys import service as apikeys
    from core.leads import query as lead_query

    migrated()
    actor = owner("api")
    generate(actor, n)
    key = apikeys.create_api_key(actor=actor, name="bench", scopes="read").key
    port = free_port()
    env = {**os.environ, "API_RATE_PER_SECOND": "1000000", "API_RATE_BURST": "1000000", "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/api/v1/leads"
    headers = {"Authorization": f"Bearer {key}"}
    figures: dict[str, object] = {}
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        client = httpx.Client(headers=headers, timeout=60)
        filter_params = {"status": "qualified", "industry": "Bakery", "score_min": 50}
        flt = lead_query.LeadFilter(statuses=("qualified",), industry="Bakery", score_min=50)

        # The cursor 500 pages deep, found by walking the pages as a client would.
        cursor = None
        for _ in range(DEEP):
            page = client.get(base, params={"limit": PAGE, **({"cursor": cursor} if cursor else {})}).json()
            cursor = page["next_cursor"]
        deep_first_id = client.get(base, params={"limit": PAGE, "cursor": cursor}).json()["data"][0]["id"]
        after = None
        for _ in range(DEEP):
            direct = lead_query.list_leads_after(actor=actor, flt=lead_query.LeadFilter(), sort="score",
                                                 descending=True, after=after, limit=PAGE)
            after = direct.next_key
        assert direct.next_key is not None
        same = lead_query.list_leads_after(actor=actor, flt=lead_query.LeadFilter(), sort="score", descending=True,
                                           after=after, limit=PAGE).rows[0].id
        figures["deep_same_row"] = same == deep_first_id

        cases = {
            "first page": (lambda: client.get(base, params={"limit": PAGE}),
                           lambda: lead_query.list_leads_after(actor=actor, flt=lead_query.LeadFilter(), sort="score",
                                                               descending=True, after=None, limit=PAGE)),
            "filter": (lambda: client.get(base, params={"limit": PAGE, **filter_params}),
                       lambda: lead_query.list_leads_after(actor=actor, flt=flt, sort="score", descending=True,
                                                           after=None, limit=PAGE)),
            f"cursor {DEEP} pages deep": (
                lambda: client.get(base, params={"limit": PAGE, "cursor": cursor}),
                lambda: lead_query.list_leads_after(actor=actor, flt=lead_query.LeadFilter(), sort="score",
                                                    descending=True, after=after, limit=PAGE)),
        }
        single: dict[str, dict[str, float]] = {}
        for name, (over_http, direct_call) in cases.items():
            assert over_http().status_code == 200
            http_times = repeat(over_http, repeats)
            core_times = repeat(direct_call, repeats)
            single[name] = {"http_p50": pct(http_times, 0.5), "http_p95": pct(http_times, 0.95),
                            "core_p50": pct(core_times, 0.5), "core_p95": pct(core_times, 0.95)}
        figures["single"] = single

        local = threading.local()

        def one_request() -> None:
            if not hasattr(local, "client"):
                local.client = httpx.Client(headers=headers, timeout=120)
            response = local.client.get(base, params={"limit": PAGE})
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

        rps, lat = concurrent(one_request, CLIENTS, per_client)
        core_rps, core_lat = concurrent(
            lambda: lead_query.list_leads_after(actor=actor, flt=lead_query.LeadFilter(), sort="score",
                                                descending=True, after=None, limit=PAGE),
            CLIENTS, per_client)
        figures["concurrent"] = {"http_rps": rps, "http_p95": pct(lat, 0.95), "http_p50": pct(lat, 0.5),
                                 "core_rps": core_rps, "core_p95": pct(core_lat, 0.95), "core_p50": pct(core_lat, 0.5),
                                 "requests": CLIENTS * per_client}
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    return figures


def run_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, object]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "SECRET_KEY": "bench-" + "x" * 40,
           "DATA_DIR": tempfile.mkdtemp(prefix="leadscout-bench-api-"), "OPENAI_API_KEY": "", "REDIS_URL": "",
           "OPEN_SIGNUP": "true"}  # --pg-in-place: the database may have accounts already
    done = subprocess.run([sys.executable, __file__, "--child", "--leads", str(args.leads), "--repeats",
                           str(args.repeats), "--per-client", str(args.per_client)],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        print(f"{name} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return {}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def print_table(results: dict[str, dict[str, object]], args: argparse.Namespace, reference: float) -> None:
    ms = 1000
    print(f"\nGET /api/v1/leads, {args.leads:,} leads, limit {PAGE}; uvicorn api.app:app (1 process) on loopback vs "
          f"core.leads.query.list_leads_after called directly.")
    print(f"Shared 2-core machine (other work running); reference loop {reference:.2f} s (bench/reference.py).")
    print(f"Single client, {args.repeats} requests each (goal: HTTP p95 <= {GOAL_P95 * ms:.0f} ms; cursor page <= "
          f"first page):")
    print(f"{'database':<11} {'request':<24} {'HTTP p50':>9} {'HTTP p95':>9} {'core p50':>9} {'core p95':>9}  goal")
    for db, figures in results.items():
        single = figures.get("single", {})
        assert isinstance(single, dict)
        for name, f in single.items():
            met = "met" if f["http_p95"] <= GOAL_P95 else "MISSED"
            print(f"{db:<11} {name:<24} {f['http_p50'] * ms:>7.1f}ms {f['http_p95'] * ms:>7.1f}ms "
                  f"{f['core_p50'] * ms:>7.1f}ms {f['core_p95'] * ms:>7.1f}ms  {met}")
        if single:
            first, deep = single["first page"], single[f"cursor {DEEP} pages deep"]
            verdict = "met" if deep["http_p95"] <= first["http_p95"] * 1.1 else "MISSED"
            print(f"{db:<11} cursor page / first page (p95): {deep['http_p95'] / first['http_p95']:.2f}  {verdict} "
                  f"(within 10 %); page {DEEP} over HTTP = page {DEEP} of the core call: {figures.get('deep_same_row')}")
    print(f"\n{CLIENTS} concurrent clients, first page, {args.per_client} requests each:")
    print(f"{'database':<11} {'HTTP req/s':>11} {'HTTP p50':>9} {'HTTP p95':>9} {'core calls/s':>13} {'core p50':>9} "
          f"{'core p95':>9}")
    for db, figures in results.items():
        c = figures.get("concurrent")
        if isinstance(c, dict):
            print(f"{db:<11} {c['http_rps']:>11.0f} {c['http_p50'] * ms:>7.0f}ms {c['http_p95'] * ms:>7.0f}ms "
                  f"{c['core_rps']:>13.0f} {c['core_p50'] * ms:>7.0f}ms {c['core_p95'] * ms:>7.0f}ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=60, help="requests per single-client measurement")
    parser.add_argument("--per-client", type=int, default=20, help="requests per concurrent client")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument("--pg-in-place", action="store_true", help="use --pg-url's database, not a scratch one")
    parser.add_argument("--no-pg", action="store_true", help="the same as --database sqlite")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.leads, args.repeats, args.per_client), default=str))
        return 0
    from bench.reference import reference_seconds

    reference = reference_seconds()
    if args.no_pg:
        args.database = "sqlite"
    results: dict[str, dict[str, object]] = {}
    if args.database in ("both", "sqlite"):
        sqlite_url = f"sqlite:///{tempfile.mkdtemp(prefix='leadscout-bench-')}/bench.db"
        results["SQLite"] = run_backend("SQLite", sqlite_url, args)
    if args.database in ("both", "postgresql") and args.pg_in_place:
        results["PostgreSQL"] = run_backend("PostgreSQL", args.pg_url, args)
    elif args.database in ("both", "postgresql"):
        from sqlalchemy import create_engine, text

        scratch = f"leadscout_bench_api_{secrets.token_hex(3)}"
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{scratch}"'))
            results["PostgreSQL"] = run_backend("PostgreSQL", f"{args.pg_url.rsplit('/', 1)[0]}/{scratch}", args)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
            admin.dispose()
    print_table(results, args, reference)
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
