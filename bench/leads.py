"""The leads workspace at 100k leads, on SQLite and PostgreSQL side by side in one run.

Measures the leads page's first render and a filter change (AppTest of pages/leads.py, and the exact
core calls the page makes), exporting 100k rows, and importing a 100k-row CSV beside a raw baseline
(pandas read_csv + a bulk insert: COPY on PostgreSQL, executemany in one transaction on SQLite). Two
baselines: A inserts only the lead rows; B inserts the rows the import itself writes (a lead plus its
email and phone contact per row), still without any validation or duplicate checks. Then re-scoring
every lead with the rules after a rubric change (issue 18 item 21: the re-score job's own calls, no LLM).
Last, the first import into a brand-new database (no planner statistics yet), with a quarter of the file
repeating 300 companies.
Goals: first render <= 1.5 s, filter <= 0.5 s, export <= 3 s, import <= 15 s and <= 3x the baseline,
re-score <= 20 s.

    PYTHONPATH=. .venv/bin/python bench/leads.py [--leads 100000] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
    PYTHONPATH=. .venv/bin/python bench/leads.py --only rescore   # just the re-score, on both databases
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INDUSTRIES = [
    "Bakery",
    "Coffee roasting",
    "Plumbing",
    "Dental clinic",
    "Law firm",
    "Architecture",
    "Brewery",
    "Florist",
    "Veterinary clinic",
    "Yoga studio",
    "Bike shop",
    "Bookshop",
    "Hair salon",
    "Accounting",
    "Software",
    "Marketing agency",
    "Hotel",
    "Restaurant",
    "Gym",
    "Photography",
]
CITIES = [
    "Leeds",
    "York",
    "Manchester",
    "Bristol",
    "London",
    "Berlin",
    "Hamburg",
    "Munich",
    "Paris",
    "Lyon",
    "Madrid",
    "Dublin",
    "Glasgow",
    "Cardiff",
    "Oslo",
    "Vienna",
    "Zurich",
    "Lisbon",
    "Porto",
    "Milan",
]
TECH = ["WordPress", "Shopify", "Wix", "Squarespace", "WooCommerce", "HubSpot", "Google Analytics", "Stripe"]
STATUSES = ["new"] * 6 + ["qualified", "contacted", "replied", "meeting", "won", "lost", "do_not_contact"]


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def make_csv(n: int, tag: str) -> bytes:
    """A realistic import file: n companies with a person, email, phone, city and tags."""
    rng = random.Random(7)
    out = io.StringIO()
    out.write("Company,Website,Email,Phone,First Name,Last Name,Title,City,Country,Notes,Tags\n")
    for i in range(n):
        out.write(
            f"Import Co {i},https://www.imp{i}-{tag}.co.uk/,anna.smith@imp{i}-{tag}.co.uk,020 7{i // 10000:03d} {i % 10000:04d},"
            f'Anna,Smith,Owner,{rng.choice(CITIES)},GB,"Met at fair, row {i}","{rng.choice(["vip", "fair", "cold"])}"\n'
        )
    return out.getvalue().encode("utf-8")


def repeating_first(data: bytes, repeated_rows: int, companies: int) -> bytes:
    """The same file with its first ``repeated_rows`` rows cycling through its first ``companies`` rows."""
    head, *body = data.split(b"\n")
    return b"\n".join([head, *(body[i % companies] for i in range(repeated_rows)), *body[repeated_rows:]])


def generate(actor, n: int) -> float:  # type: ignore[no-untyped-def]
    """Bulk-insert n leads with contacts (email, half with phone) and two evidence rows each."""
    from sqlalchemy import insert, select, text

    from core.db import UnitOfWork
    from core.db.models import Contact, Evidence, Lead, utcnow

    rng = random.Random(1)
    ws = actor.workspace_id
    start = time.perf_counter()
    with UnitOfWork() as uow:
        s = uow.session
        now = utcnow()
        for base in range(0, n, 10_000):
            rows = []
            for i in range(base, min(base + 10_000, n)):
                rows.append(
                    {
                        "workspace_id": ws,
                        "domain": f"lead{i}.example.com",
                        "name": f"Lead {i} {rng.choice(INDUSTRIES)}",
                        "website": f"https://lead{i}.example.com/",
                        "industry": rng.choice(INDUSTRIES),
                        "location": rng.choice(CITIES),
                        "country": rng.choice(["GB", "DE", "FR", "ES"]),
                        "summary": f"A small {rng.choice(INDUSTRIES).lower()} business",
                        "tech": rng.sample(TECH, 2),
                        "score": None if i % 10 == 0 else round(rng.random() * 100, 1),
                        "score_factors": [],
                        "status": rng.choice(STATUSES),
                        "tags": [rng.choice(["vip", "fair", "cold"])],
                        "notes": "",
                        "source": "search",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            s.execute(insert(Lead), rows)
        ids = list(s.scalars(select(Lead.id).where(Lead.workspace_id == ws).order_by(Lead.id)))
        for base in range(0, len(ids), 10_000):
            contacts, evidence = [], []
            for lead_id in ids[base : base + 10_000]:
                contacts.append(
                    {
                        "workspace_id": ws,
                        "lead_id": lead_id,
                        "kind": "email",
                        "value": f"info@l{lead_id}.test",
                        "normalised_value": f"info@l{lead_id}.test",
                        "is_role_address": True,
                        "created_at": now,
                    }
                )
                if lead_id % 2:
                    contacts.append(
                        {
                            "workspace_id": ws,
                            "lead_id": lead_id,
                            "kind": "phone",
                            "value": f"+44113496{lead_id % 10000:04d}",
                            "normalised_value": f"+44113496{lead_id % 10000:04d}",
                            "created_at": now,
                        }
                    )
                for field in ("industry", "address"):
                    evidence.append(
                        {
                            "workspace_id": ws,
                            "lead_id": lead_id,
                            "field": field,
                            "value": f"{field} of {lead_id}",
                            "source_url": f"https://l{lead_id}.test/",
                            "snippet": "…",
                            "created_at": now,
                            "fingerprint": f"{lead_id}-{field}",
                        }
                    )
            s.execute(insert(Contact), contacts)
            s.execute(insert(Evidence), evidence)
        uow.commit()
        s.execute(text("ANALYZE"))  # fresh statistics, as a database that has lived a while has
        uow.commit()
    return time.perf_counter() - start


def raw_baseline(data: bytes, workspace_id: int, url: str, *, contacts: bool) -> float:
    """pandas read_csv, then the plainest bulk insert of the rows into ``lead`` -- and, with ``contacts``,
    of each row's email and phone into ``contact``: the same rows an import of the file writes, with no
    validation, normalising or duplicate checks."""
    import pandas as pd
    from sqlalchemy import create_engine

    start = time.perf_counter()
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    now = "2026-01-01T00:00:00+00:00"
    tag = "rawc" if contacts else "raw"
    rows = [
        (workspace_id, f"{tag}-{w}", c, w, "", ci, "", "", "[]", "[]", "", "new", "", "csv", now, now)
        for c, w, ci in zip(frame["Company"], frame["Website"], frame["City"], strict=True)
    ]
    columns = (
        "workspace_id, domain, name, website, summary, location, country, industry, tech, score_factors, "
        "opening_hours, status, notes, source, created_at, updated_at"
    )
    contact_columns = (
        "workspace_id, lead_id, kind, value, normalised_value, person_name, person_title, label, "
        "verification, created_at"
    )

    def contact_rows(ids: dict[str, int]):  # type: ignore[no-untyped-def]
        for domain, email, phone, first, last, title in zip(
            (r[1] for r in rows),
            frame["Email"],
            frame["Phone"],
            frame["First Name"],
            frame["Last Name"],
            frame["Title"],
            strict=True,
        ):
            lead_id, person = ids[domain], f"{first} {last}"
            yield (workspace_id, lead_id, "email", email, email, person, title, "csv", "unknown", now)
            yield (workspace_id, lead_id, "phone", phone, phone, person, title, "csv", "unknown", now)

    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1])
        conn.execute("PRAGMA foreign_keys=ON")  # as the app runs it
        with conn:
            conn.executemany(f"INSERT INTO lead ({columns}, tags) VALUES ({', '.join('?' * 16)}, '[]')", rows)
            if contacts:
                ids = dict(conn.execute("SELECT domain, id FROM lead WHERE workspace_id = ?", (workspace_id,)))
                conn.executemany(
                    f"INSERT INTO contact ({contact_columns}, is_role_address) VALUES ({', '.join('?' * 10)}, 0)",
                    contact_rows(ids),
                )
        conn.close()
    else:
        engine = create_engine(url)
        raw = engine.raw_connection()
        with raw.cursor() as cur:
            with cur.copy(f"COPY lead ({columns}, tags) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, "[]"))
            if contacts:
                cur.execute("SELECT domain, id FROM lead WHERE workspace_id = %s", (workspace_id,))
                ids = dict(cur.fetchall())
                with cur.copy(f"COPY contact ({contact_columns}, is_role_address) FROM STDIN") as copy:
                    for line in contact_rows(ids):
                        copy.write_row((*line, False))
        raw.commit()
        raw.close()
        engine.dispose()
    return time.perf_counter() - start


def page_timings(actor) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """AppTest of pages/leads.py (first render, filter change) and the same core calls on their own."""
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    from core.leads.query import LeadFilter, filter_options, list_leads

    def main_script_first(main_script_path: str) -> None:  # as tests/ui/conftest.py: reruns start at the page
        from streamlit.commands.navigation import _navigation
        from streamlit.navigation.page import _create_page

        _navigation(
            [_create_page(Path(main_script_path).resolve(), default=True)], position="hidden", expanded=False
        ).run()

    script_runner._mpa_v1 = main_script_first
    warm = AppTest.from_file(str(ROOT / "pages" / "leads.py"), default_timeout=120)  # Streamlit's own import cost
    warm.session_state["actor"] = actor
    warm.run()
    at = AppTest.from_file(str(ROOT / "pages" / "leads.py"), default_timeout=120)
    at.session_state["actor"] = actor
    first, _ = timed(at.run)
    assert not at.exception, at.exception
    at.text_input(key="leads_industry").set_value("bakery")
    at.selectbox(key="leads_has_email").set_value("yes")
    change, _ = timed(at.run)
    assert not at.exception, at.exception
    core_first, _ = timed(
        lambda: (filter_options(actor=actor), list_leads(actor=actor, flt=LeadFilter(), page_size=50))
    )
    core_filter, page = timed(list_leads, actor=actor, flt=LeadFilter(industry="bakery", has_email=True), page_size=50)
    core_text, _ = timed(
        list_leads, actor=actor, flt=LeadFilter(text="lead 4242", statuses=("new", "qualified")), page_size=50
    )
    return {
        "page_first": first,
        "page_filter": change,
        "core_first": core_first,
        "core_filter": core_filter,
        "core_text": core_text,
        "filter_matches": page.total,
    }


def migrated() -> str:
    """The database in DATABASE_URL, migrated; returns its URL."""
    from core.config import get_settings
    from core.db import migrate

    get_settings.cache_clear()
    url = get_settings().resolved_database_url
    migrate.upgrade(url)
    return url


def owner(label: str):  # type: ignore[no-untyped-def]
    """A new user owning a new workspace, as an actor."""
    from core.auth import service as auth

    email = f"{label}-{secrets.token_hex(3)}@bench.test"
    auth.sign_up(email=email, password="correct horse battery", workspace_name=f"{label}-{secrets.token_hex(3)}")
    signed = auth.sign_in(email=email, password="correct horse battery")
    return auth.actor_for(user_id=signed.user_id, workspace_id=signed.workspaces[0][0])


RESCORE_GOAL = "Independent bakeries and coffee roasters in Leeds or Berlin with an online shop, not chains"


def rescore_timing(actor) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Approve a rubric for the workspace (its leads have no campaign: the latest approved rubric scores them)
    and time the re-score job's calls: the stale leads' ids, then scoring them with the rules alone."""
    from core.db import UnitOfWork
    from core.scoring.service import leads_of_campaign, score_leads
    from core.strategy import service as strategy

    version = strategy.create_campaign_from_goal(actor=actor, goal=RESCORE_GOAL, llm=None)

    class Hold:  # keeps the re-score job that approving queues: the bench runs the same calls itself, timed
        name = "hold"

        def enqueue(self, job_id, kind):  # type: ignore[no-untyped-def]
            return None

        def cancel_queued(self, rq_id):  # type: ignore[no-untyped-def]
            return None

    strategy.approve(actor=actor, campaign_id=version.campaign_id, version_id=version.id, runner=Hold())
    start = time.perf_counter()
    with UnitOfWork() as uow:
        ids = leads_of_campaign(uow, workspace_id=actor.workspace_id, campaign_id=version.campaign_id, stale_only=True)
    done = score_leads(workspace_id=actor.workspace_id, lead_ids=ids, use_llm=False)
    seconds = time.perf_counter() - start
    return {"rescore": seconds, "rescored": done.scored, "rescore_rubric": [f.factor for f in version.strategy.rubric]}


def child(n: int) -> dict[str, object]:
    """Run every measurement on the database in DATABASE_URL; returns the figures."""
    from core.leads.csv_export import COLUMNS, export_csv
    from core.leads.csv_import import import_csv
    from core.leads.query import LeadFilter

    url = migrated()
    actor = owner("bench")
    figures: dict[str, object] = {"generate": generate(actor, n)}
    if ONLY == "rescore":
        figures.update(rescore_timing(actor))
        return figures
    figures.update(page_timings(actor))
    figures["export"], data = timed(export_csv, actor=actor, flt=LeadFilter(), columns=COLUMNS)
    figures["export_rows"] = data.count(b"\n") - 1
    upload = make_csv(n, secrets.token_hex(2))
    importer = owner("import")
    figures["import"], result = timed(import_csv, actor=importer, data=upload, default_region="GB")
    figures["import_counts"] = result.counts()
    figures["reimport"], again = timed(import_csv, actor=importer, data=upload, default_region="GB")
    figures["reimport_counts"] = again.counts()
    figures["baseline"] = raw_baseline(upload, owner("raw").workspace_id, url, contacts=False)
    figures["baseline_same_rows"] = raw_baseline(upload, owner("rawc").workspace_id, url, contacts=True)
    figures.update(rescore_timing(actor))
    return figures


def fresh_child(n: int) -> dict[str, object]:
    """The first import into a new database: no statistics yet, and a quarter of the file repeats a few
    companies, so the duplicate lookups vary in size (what once made PostgreSQL pick a plan that
    compared every lead with every looked-up domain)."""
    from core.leads.csv_import import import_csv

    migrated()
    actor = owner("fresh")
    upload = repeating_first(make_csv(n, "fresh"), n // 4, 300)
    seconds, result = timed(import_csv, actor=actor, data=upload, default_region="GB")
    return {"fresh_import": seconds, "fresh_counts": result.counts()}


ONLY = os.environ.get("BENCH_LEADS_ONLY", "")


def run_backend(name: str, url: str, n: int, *, mode: str = "--child") -> dict[str, object]:
    env = {**os.environ, "BENCH_LEADS_ONLY": ONLY, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "SECRET_KEY": "bench-" + "x" * 40,
           "DATA_DIR": tempfile.mkdtemp(prefix="leadscout-bench-leads-"), "OPENAI_API_KEY": "", "REDIS_URL": ""}
    done = subprocess.run([sys.executable, __file__, mode, "--leads", str(n)], env=env, capture_output=True, text=True)
    if done.returncode:
        print(f"{name} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fresh-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["rescore"], help="measure only this (after generating the leads)")
    args = parser.parse_args()
    global ONLY
    ONLY = args.only or ONLY
    if args.child or args.fresh_child:
        print(json.dumps((child if args.child else fresh_child)(args.leads), default=str))
        return 0
    from sqlalchemy import create_engine, text

    def sqlite_url() -> str:
        return f"sqlite:///{tempfile.mkdtemp(prefix='leadscout-bench-')}/bench.db"

    results = {"SQLite": run_backend("SQLite", sqlite_url(), args.leads)}
    if not ONLY:
        results["SQLite"].update(run_backend("SQLite", sqlite_url(), args.leads, mode="--fresh-child"))
    scratch = [f"leadscout_bench_{secrets.token_hex(3)}" for _ in range(2)]
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    base = args.pg_url.rsplit("/", 1)[0]
    try:
        with admin.connect() as conn:
            for name in scratch:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        results["PostgreSQL"] = run_backend("PostgreSQL", f"{base}/{scratch[0]}", args.leads)
        if not ONLY:
            results["PostgreSQL"].update(
                run_backend("PostgreSQL", f"{base}/{scratch[1]}", args.leads, mode="--fresh-child"))
    finally:
        with admin.connect() as conn:
            for name in scratch:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print_table(results, args.leads)
    return 0


def print_table(results: dict[str, dict[str, object]], n: int) -> None:
    """The side-by-side table, each figure against its goal."""

    def cell(r: dict[str, object], key: str, goal: float | None = None) -> str:
        if key not in r:
            return "failed"
        value = float(r[key])  # type: ignore[arg-type]
        return f"{value:.2f} s" + ("" if goal is None else (" ok" if value <= goal else " MISS"))

    def ratio(r: dict[str, object], baseline: str) -> str:
        if "import" not in r or baseline not in r:
            return "failed"
        value = float(r["import"]) / float(r[baseline])  # type: ignore[arg-type]
        return f"{value:.1f}x" + (" ok" if value <= 3 else " MISS")

    lines = [
        ("setup: generate leads+contacts+evidence", "—", lambda r: cell(r, "generate")),
        ("leads page first render (AppTest)", "≤ 1.5 s", lambda r: cell(r, "page_first", 1.5)),
        ("  core calls of first render", "—", lambda r: cell(r, "core_first")),
        ("filter change (AppTest rerun)", "≤ 0.5 s", lambda r: cell(r, "page_filter", 0.5)),
        ("  core call: industry+has email", "—", lambda r: cell(r, "core_filter")),
        ("  core call: free text+status", "—", lambda r: cell(r, "core_text")),
        (f"export {n:,} rows (all columns)", "≤ 3 s", lambda r: cell(r, "export", 3)),
        (f"import {n:,} rows (validated)", "≤ 15 s", lambda r: cell(r, "import", 15)),
        ("raw baseline A: read_csv + insert leads", "—", lambda r: cell(r, "baseline")),
        ("  import / baseline A", "≤ 3x", lambda r: ratio(r, "baseline")),
        ("raw baseline B: + insert the contacts too", "—", lambda r: cell(r, "baseline_same_rows")),
        ("  import / baseline B (same rows written)", "≤ 3x", lambda r: ratio(r, "baseline_same_rows")),
        ("re-import same file (changes nothing)", "—", lambda r: cell(r, "reimport")),
        ("first import, new database (1/4 repeats)", "≤ 15 s", lambda r: cell(r, "fresh_import", 15)),
        (f"re-score {n:,} leads (rules, after approving)", "≤ 20 s", lambda r: cell(r, "rescore", 20)),
    ]
    if ONLY:
        lines = [line for line in lines if line[0].startswith(("setup", ONLY.replace("rescore", "re-score")))]
    names = list(results)
    from bench.reference import reference_seconds

    print(
        f"\nLeads workspace benchmark, {n:,} leads, {os.cpu_count()} CPUs; machine reference loop "
        f"{reference_seconds():.2f} s (bench/reference.py: lower is a faster machine)\n"
    )
    print(f"| {'measure':<42} | {'goal':<8} | " + " | ".join(f"{name:<14}" for name in names) + " |")
    print(f"|{'-' * 44}|{'-' * 10}|" + "|".join("-" * 16 for _ in names) + "|")
    for label, goal, fn in lines:
        print(f"| {label:<42} | {goal:<8} | " + " | ".join(f"{fn(results[name]):<14}" for name in names) + " |")
    for name, r in results.items():
        if r:
            print(f"\n{name}: export rows {r.get('export_rows')}, filter matched {r.get('filter_matches')}, "
                  f"import {r.get('import_counts')}, re-import {r.get('reimport_counts')}, "
                  f"first import into a new database {r.get('fresh_counts')}, "
                  f"re-scored {r.get('rescored')} leads with the rubric {r.get('rescore_rubric')}")


if __name__ == "__main__":
    sys.exit(main())
