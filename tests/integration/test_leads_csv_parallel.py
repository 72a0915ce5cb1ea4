"""Big imports: rows checked in worker processes and saved chunk by chunk give the same result as one pass."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text

from core.db import UnitOfWork
from core.db.models import Lead
from core.errors import InvalidInput
from core.leads import csv_import, csv_rows
from core.leads.bulk import among, insert_rows
from core.leads.csv_export import COLUMNS, export_csv
from core.leads.query import LeadFilter
from tests.conftest import make_owner, unique
from tests.fixtures.leads_data import make_lead


def awkward_file(tag: str) -> bytes:
    """Duplicates of one company far apart, bad rows, a tombstone-free existing lead, free mail, bad phones."""
    lines = ["Company,Website,Email,Phone,City,Country,Tags"]
    for i in range(60):
        lines.append(f"Co {i},https://www.c{i % 23}-{tag}.co.uk/,p{i}@c{i % 23}-{tag}.co.uk,020 7{i:03d} 0{i:03d},Leeds,GB,t{i % 3}")
        if i % 7 == 0:
            lines.append(f"Bad {i},,someone{i}@gmail.com,,,,")
        if i % 11 == 0:
            lines.append(f"Worse {i},https://c{i % 23}-{tag}.co.uk,not-an-email,12,,,")
    lines.append(f"Old,https://old-{tag}.co.uk/,new@old-{tag}.co.uk,,York,GB,")
    return ("\n".join(lines) + "\n").encode()


def run(monkeypatch, tag: str, *, processes: int, mode: str):
    owner = make_owner()
    make_lead(owner, f"old-{tag}.co.uk", name="Old")
    monkeypatch.setattr(csv_rows, "PARALLEL_MIN_ROWS", 0)  # our real worker processes, on a small file
    monkeypatch.setattr(csv_rows, "CHUNK_ROWS", 7)  # many chunks: a company's rows land in different chunks
    monkeypatch.setenv("CSV_IMPORT_PROCESSES", str(processes))
    from core.config import get_settings

    get_settings.cache_clear()
    try:
        result = csv_import.import_csv(actor=owner, data=awkward_file(tag), default_region="GB", on_duplicate=mode)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    exported = export_csv(actor=owner, flt=LeadFilter(text=tag), columns=[c for c in COLUMNS if c not in ("id", "created_at", "updated_at")])
    return result, exported


@pytest.mark.parametrize("mode", ["update", "skip"])
def test_worker_processes_and_chunks_give_the_single_pass_result(monkeypatch, caplog, mode):
    tag = unique("par")
    serial, serial_rows = run(monkeypatch, tag, processes=1, mode=mode)
    parallel, parallel_rows = run(monkeypatch, tag, processes=3, mode=mode)
    assert serial.counts() == parallel.counts()
    assert serial.rows_read == serial.imported + serial.updated + serial.skipped + len(serial.rejected)
    assert serial.imported == 23  # 23 companies in 60 rows, each imported once across chunks
    assert [(n, why) for n, why, _c in serial.rejected] == [(n, why) for n, why, _c in parallel.rejected]
    assert len(serial.rejected) == 9 + 6  # free-mail rows and bad-email rows, with their reasons
    assert serial.skip_reasons == parallel.skip_reasons
    assert serial_rows == parallel_rows and serial_rows.count(b"\n") == 24 + 1
    assert "CSV check workers failed" not in caplog.text  # the workers did the checking, not the fallback


def test_workers_that_cannot_start_fall_back_to_this_process(monkeypatch, caplog):
    tag = unique("fb")
    monkeypatch.setattr(csv_rows, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(csv_rows, "CHUNK_ROWS", 5)
    monkeypatch.setattr(sys, "executable", "/bin/false")  # every worker exits at once: the import must still finish
    data = awkward_file(tag)
    parsed = csv_import.csv_read.parse(data)
    mapping = csv_import.csv_read.guess_mapping(parsed.headers)
    fallback = [row for chunk in csv_rows.check_chunks(parsed.headers, parsed.rows, mapping, default_region="GB", processes=2)
                for row in chunk]
    monkeypatch.undo()
    direct = [row for chunk in csv_rows.check_chunks(parsed.headers, parsed.rows, mapping, default_region="GB", processes=1)
              for row in chunk]
    assert fallback == direct and len(direct) == len(parsed.rows)
    assert "CSV check workers failed" in caplog.text


def test_stopping_an_import_stops_it(monkeypatch, owner):
    monkeypatch.setattr(csv_rows, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(csv_rows, "CHUNK_ROWS", 5)
    seen = []

    def progress(done, total, message):
        seen.append(done)
        if done >= 10:
            raise KeyboardInterrupt  # as a cancelled job's progress call raises

    with pytest.raises(KeyboardInterrupt):
        csv_import.import_csv(actor=owner, data=awkward_file(unique("stop")), default_region="GB", progress=progress)
    ends = [end for _start, end in csv_rows.chunk_bounds(60)]
    assert seen == [1, 3, 7, 12] == ends[:4]  # chunks of 1, 2, 4, then 5 rows; stopped after the first past 10


@pytest.mark.parametrize("rows", [0, 1, 2, 999, 1_000, 1_001, 7_000, 100_000, 100_001])
def test_chunks_start_small_then_take_chunk_rows_and_cover_every_row_once(rows):
    bounds = csv_rows.chunk_bounds(rows)
    assert [b for _a, b in bounds[:-1]] == [a for a, _b in bounds[1:]]  # contiguous
    assert (bounds[0][0] if bounds else 0) == 0 and (bounds[-1][1] if bounds else 0) == rows
    sizes = [b - a for a, b in bounds]
    assert all(0 < size <= csv_rows.CHUNK_ROWS for size in sizes)
    if rows >= 100_000:
        assert sizes[:4] == [1_000, 2_000, 4_000, 5_000] and set(sizes[3:-1]) == {5_000}


def test_bulk_insert_stores_exactly_what_an_orm_insert_stores(owner):
    now = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    rows = []
    for name in ("orm", "bulk"):
        rows.append({"workspace_id": owner.workspace_id, "domain": f"{unique(name)}.example", "website": "https://x.example",
                     "name": "Ünïcode ' \" name", "industry": "", "location": "", "country": "GB", "notes": "a\nb",
                     "tags": ["vip", "ünï"], "source": "csv", "status": "new", "tech": [], "score_factors": [{"k": 1}],
                     "summary": "", "opening_hours": "", "created_at": now, "updated_at": now})
    with UnitOfWork() as uow:
        uow.session.execute(insert(Lead), [rows[0]])
        varying = ("domain", "name", "notes", "tags", "score_factors", "created_at")  # the rest: one value for all rows
        insert_rows(uow.session, Lead.__table__, varying, [tuple(rows[1][c] for c in varying)],
                    same={c: v for c, v in rows[1].items() if c not in varying})
        uow.commit()
    columns = "name, notes, tags, tech, score_factors, country, created_at, updated_at"
    with UnitOfWork() as uow:
        stored = [uow.session.execute(text(f"SELECT {columns} FROM lead WHERE domain = :d"), {"d": r["domain"]}).one()
                  for r in rows]
        assert stored[0] == stored[1]
        ids = uow.session.scalars(select(Lead.id).where(among(uow.session, Lead.domain, [r["domain"] for r in rows]))).all()
        assert len(ids) == 2
        assert uow.session.scalars(select(Lead.id).where(among(uow.session, Lead.domain, []))).all() == []


def test_the_cycle_collector_is_paused_during_an_import_and_back_after_it_however_it_ends(monkeypatch):
    import gc

    from core.leads import bulk

    owner = make_owner()
    monkeypatch.setattr(csv_rows, "CHUNK_ROWS", 20)
    monkeypatch.setattr(bulk, "_PAUSES_ALLOWED", False)  # as in the UI process that runs embedded jobs
    in_the_ui = []
    csv_import.import_csv(actor=owner, data=awkward_file(unique("gc0")), default_region="GB",
                          progress=lambda done, total, message: in_the_ui.append(gc.isenabled()))
    assert in_the_ui and all(in_the_ui)
    monkeypatch.setattr(bulk, "_PAUSES_ALLOWED", True)  # as a worker or command-line process allows them
    during = []
    result = csv_import.import_csv(actor=owner, data=awkward_file(unique("gc")), default_region="GB",
                                   progress=lambda done, total, message: during.append(gc.isenabled()))
    assert during and not any(during)  # paused while rows were checked and saved
    assert gc.isenabled() and result.imported > 0
    with pytest.raises(KeyboardInterrupt):  # a cancelled import
        csv_import.import_csv(actor=owner, data=awkward_file(unique("gc2")), default_region="GB",
                              progress=lambda done, total, message: (_ for _ in ()).throw(KeyboardInterrupt))
    assert gc.isenabled()
    with pytest.raises(csv_import.InvalidInput):  # a file it cannot read: nothing mapped
        csv_import.import_csv(actor=owner, data=b"a,b\n1,2\n", mapping={"company": "a"})
    assert gc.isenabled()


@pytest.mark.parametrize("rows", [3, 60])
def test_workers_started_ahead_are_stopped_however_the_import_ends(monkeypatch, owner, rows):
    """Workers start while the file is parsed; a refused file, or one with too few rows, stops them."""
    from core.leads import csv_worker

    started = []
    start = csv_worker._start
    monkeypatch.setattr(csv_worker, "_start", lambda: started.append(start()) or started[-1])
    monkeypatch.setattr(csv_rows, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(csv_import, "PARALLEL_MIN_ROWS", 0)  # start them ahead whatever the file's size
    monkeypatch.setenv("CSV_IMPORT_PROCESSES", "2")
    from core.config import get_settings

    get_settings.cache_clear()
    data = b"Company,Website\n" + b"".join(f"C{i},https://w{i}-{unique('ahead')}.co.uk\n".encode() for i in range(rows))
    with pytest.raises(InvalidInput, match="Map a website or an email column"):
        csv_import.import_csv(actor=owner, data=data, mapping={"company": "Company"}, default_region="GB")
    result = csv_import.import_csv(actor=owner, data=data, default_region="GB")
    get_settings.cache_clear()
    assert result.imported == rows
    assert len(started) == 4 and all(worker.poll() is not None for worker in started)


def test_import_lookups_are_planned_for_their_values_not_prepared(owner):
    """A prepared ``domain = ANY($1)`` may get a generic plan that compares every lead with every array
    item: on a new database (no statistics yet) a 100k-row import took 242 s instead of 12 s."""
    from core.leads.bulk import planned_per_call

    domains = [f"{unique('prep')}.example" for _ in range(50)]
    lookup = select(Lead.id).where(Lead.workspace_id == owner.workspace_id)
    with UnitOfWork() as uow:
        s = uow.session
        if s.get_bind().dialect.name != "postgresql":
            with planned_per_call(s):  # nothing is prepared on SQLite; the helper changes nothing
                assert s.scalars(lookup.where(among(s, Lead.domain, domains))).all() == []
            return
        prepared = "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%= ANY%%'"
        threshold = s.connection().connection.driver_connection.prepare_threshold
        runs = (threshold or 5) + 3  # psycopg's default prepares after 5 runs; None behind a pooler
        with planned_per_call(s):
            for _ in range(runs):
                s.scalars(lookup.where(among(s, Lead.domain, domains))).all()
            assert s.connection().connection.driver_connection.prepare_threshold is None
        assert s.scalar(text(prepared)) == 0
        assert s.connection().connection.driver_connection.prepare_threshold == threshold
        if threshold is None:
            return  # DATABASE_POOLER=transaction: nothing is ever prepared
        for _ in range(runs):  # the same lookups outside it do get prepared: the check can fail
            s.scalars(lookup.where(among(s, Lead.domain, domains))).all()
        assert s.scalar(text(prepared)) >= 1


def test_a_big_import_refreshes_sqlites_planner_statistics(monkeypatch, owner):
    """SQLite never analyses on its own; without statistics every export page sorts the whole workspace.
    (PostgreSQL is left to autovacuum: the import does not analyse there.)"""
    monkeypatch.setattr(csv_import, "ANALYZE_AFTER_ROWS", 20)

    def counted() -> tuple[float, int]:
        with UnitOfWork() as uow:
            s = uow.session
            actual = s.scalar(text("SELECT count(*) FROM lead"))
            stat = s.execute(text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")).first()
            row = stat and s.scalar(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'lead' AND idx IS NOT NULL LIMIT 1"))
            return (float(row.split()[0]) if row else -1.0), actual

    with UnitOfWork() as uow:
        if uow.session.get_bind().dialect.name != "sqlite":
            pytest.skip("PostgreSQL's statistics are left to autovacuum")
    assert csv_import.import_csv(actor=owner, data=awkward_file(unique("big")), default_region="GB").imported == 24
    estimated, actual = counted()
    assert estimated == actual  # analysed: the planner's row count is the table's
    monkeypatch.setattr(csv_import, "ANALYZE_AFTER_ROWS", 25)
    assert csv_import.import_csv(actor=owner, data=awkward_file(unique("few")), default_region="GB").imported == 24
    estimated, actual = counted()
    assert estimated == actual - 24  # below the threshold: the 24 new leads are not counted yet
    monkeypatch.setattr(csv_import, "ANALYZE_AFTER_ROWS", 24)
    csv_import.import_csv(actor=owner, data=awkward_file(unique("again")), default_region="GB")
    estimated, actual = counted()
    assert estimated == actual
