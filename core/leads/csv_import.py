"""CSV import: preview, validate every row, add or update leads in bulk; the counts always add up."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Generator
from contextlib import closing, nullcontext

from core import background
from core.actor import Actor
from core.audit import audit
from core.config import get_settings
from core.csv_safe import formula_safe_writer
from core.db import UnitOfWork
from core.errors import InvalidInput
from core.extract.location import country_code
from core.leads import csv_read
from core.leads.bulk import (
    cycle_collector_paused,
    planned_per_call,
    refresh_statistics,
)
from core.leads.csv_rows import PARALLEL_MIN_ROWS, ValidRow, check_chunks
from core.leads.csv_save import IMPORTED_TABLES, ChunkWriter
from core.leads.csv_worker import Checkers
from core.leads.models import CsvPreview, ImportResult, ImportStarted

JOB_THRESHOLD_ROWS = 5000
REJECTED_LISTED = 500  # rejected rows a background import lists in its result; its file holds every one


ANALYZE_AFTER_ROWS = 1_000  # new leads from one import before the planner's statistics are refreshed
_MIN_ROW_BYTES = 40  # a row with a company, a website and an email; most are longer


def _processes() -> int:
    configured = get_settings().csv_import_processes
    return configured or os.cpu_count() or 1


def preview(data: bytes, *, sample_rows: int = 20) -> CsvPreview:
    """How the file reads: encoding, delimiter, headers, first rows and the guessed column mapping."""
    parsed = csv_read.parse(data)
    return CsvPreview(
        parsed.encoding,
        parsed.delimiter,
        parsed.headers,
        parsed.rows[:sample_rows],
        len(parsed.rows),
        csv_read.guess_mapping(parsed.headers),
    )


def phone_region(default_region: str) -> str:
    """The import's default phone region as an ISO code ("Germany", "uk", "DE" ...); '' for none."""
    if not default_region.strip():
        return ""
    code = country_code(default_region)
    if not code:
        raise InvalidInput(f"'{default_region[:40]}' is not a country LeadScout knows; use its name or ISO code.")
    return code


def rejected_csv(result: ImportResult) -> bytes:
    """The rejected rows as a CSV (original columns plus row and error) to fix and upload again."""
    out = io.StringIO()
    writer = formula_safe_writer(out)
    writer.writerow([*result.headers, "row", "error"])
    for row_no, reason, cells in result.rejected:
        writer.writerow([*(cells.get(h, "") for h in result.headers), row_no, reason])
    return out.getvalue().encode("utf-8-sig")


def import_csv(
    *,
    actor: Actor,
    data: bytes,
    mapping: dict[str, str | None] | None = None,
    on_duplicate: str = "update",
    default_region: str = "",
    check_dns: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
) -> ImportResult:
    """Import a CSV into the actor's workspace; bad rows come back with reasons, nothing else is lost."""
    actor.require_permission("lead.import")
    if on_duplicate not in ("update", "skip"):
        raise InvalidInput("On duplicate must be 'update' or 'skip'.")
    default_region = phone_region(default_region)
    processes = _processes()
    # A file this big most likely has enough rows for the check workers: they start while it is parsed.
    ahead = processes > 1 and len(data) >= PARALLEL_MIN_ROWS * _MIN_ROW_BYTES
    with cycle_collector_paused(), Checkers(processes) if ahead else nullcontext() as checkers:
        parsed = csv_read.parse(data)
        mapping = mapping or csv_read.guess_mapping(parsed.headers)
        if not (mapping.get("website") or mapping.get("email")):
            raise InvalidInput("Map a website or an email column: LeadScout needs one to know which company a row is.")
        chunks = check_chunks(
            parsed.headers,
            parsed.rows,
            mapping,
            default_region=default_region,
            check_dns=check_dns,
            processes=processes,
            checkers=checkers,
        )
        result = _import_rows(actor, parsed, chunks, on_duplicate, progress, uow_factory)
    with uow_factory() as uow:
        if result.imported >= ANALYZE_AFTER_ROWS:
            refresh_statistics(uow.session, IMPORTED_TABLES)
        audit(
            uow,
            "lead.csv_import",
            actor=actor,
            target_type="lead",
            detail={**result.counts(), "encoding": result.encoding},
        )
        uow.commit()
    return result


def _import_rows(
    actor: Actor,
    parsed: csv_read.ParsedCsv,
    chunks: Generator[list[tuple[int, ValidRow | str]], None, None],
    on_duplicate: str,
    progress: Callable[[int, int, str], None] | None,
    uow_factory: Callable[[], UnitOfWork],
) -> ImportResult:
    result = ImportResult(
        rows_read=len(parsed.rows), encoding=parsed.encoding, delimiter=parsed.delimiter, headers=parsed.headers
    )
    writer = ChunkWriter(actor, on_duplicate, result)
    done = 0
    # Big files are checked ahead in worker processes while this process saves each checked chunk.
    with closing(chunks):
        for checked in chunks:
            valid: list[tuple[int, ValidRow]] = []
            for number, outcome in checked:
                if isinstance(outcome, str):
                    row = parsed.rows[number - 1]
                    cells = {h: (row[i] if i < len(row) else "") for i, h in enumerate(parsed.headers)}
                    result.rejected.append((number, outcome, cells))
                else:
                    valid.append((number, outcome))
            if valid:
                with uow_factory() as uow, planned_per_call(uow.session):
                    writer.save(uow, valid)
                    uow.commit()
            done += len(checked)
            if progress:
                progress(done, result.rows_read, f"Imported {done:,} of {result.rows_read:,} rows")
    return result


def submit_import(
    *,
    actor: Actor,
    data: bytes,
    mapping: dict[str, str | None],
    on_duplicate: str = "update",
    default_region: str = "",
    runner: background.Runner | None = None,
) -> int:
    """Run a big import as a job (the file is kept in the data folder); returns the job id."""
    actor.require_permission("lead.import")
    folder = get_settings().data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{actor.workspace_id}-{uuid.uuid4().hex}.csv"
    path.write_bytes(data)
    return background.submit(
        kind=background.kinds.IMPORT_CSV,
        actor=actor,
        args={"file": path.name, "mapping": mapping, "on_duplicate": on_duplicate, "default_region": default_region},
        runner=runner,
    )


def start_import(
    *,
    actor: Actor,
    data: bytes,
    mapping: dict[str, str | None],
    on_duplicate: str = "update",
    default_region: str = "",
    read: CsvPreview | None = None,
    runner: background.Runner | None = None,
) -> ImportStarted:
    """Import a small file at once, or hand a big one (over ``JOB_THRESHOLD_ROWS`` rows) to a job.

    ``read`` is the preview the caller already made of ``data``, so the file is not read twice to decide.
    """
    actor.require_permission("lead.import")
    default_region = phone_region(default_region)
    if (read or preview(data, sample_rows=0)).rows > JOB_THRESHOLD_ROWS:
        job_id = submit_import(
            actor=actor,
            data=data,
            mapping=mapping,
            on_duplicate=on_duplicate,
            default_region=default_region,
            runner=runner,
        )
        return ImportStarted(job_id=job_id)
    result = import_csv(
        actor=actor, data=data, mapping=mapping, on_duplicate=on_duplicate, default_region=default_region
    )
    return ImportStarted(result=result, rejected_file=rejected_csv(result) if result.rejected else None)


def rejected_file_of_job(*, actor: Actor, job_id: int) -> bytes | None:
    """The rejected rows of a finished background import of the actor's workspace as CSV (None if it rejected none)."""
    actor.require_permission("lead.import")
    job = background.get_job_or_raise(actor=actor, job_id=job_id)
    if job.kind != background.kinds.IMPORT_CSV.name or job.status != "succeeded" or not job.result:
        raise InvalidInput(f"Job {job_id} is not a finished CSV import.")
    if not job.result.get("rejected"):
        return None
    name = str(job.result.get("rejected_file") or "")
    path = get_settings().data_dir / "imports" / name.replace("/", "").replace("\\", "")
    if not name.startswith(f"{actor.workspace_id}-") or not path.is_file():
        raise InvalidInput(f"The rejected rows of import job {job_id} are no longer kept.")
    return path.read_bytes()
