"""Bulk work for big imports and exports: COPY on PostgreSQL, executemany on SQLite, one parameter per IN list."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ARRAY, JSON, ColumnElement, String, Table, any_, bindparam, func, select, text
from sqlalchemy.orm import Session


def _converter(process: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """The column's bind processor, run once per distinct hashable value (rows of an import share most values)."""
    if process is None:
        return lambda value: value
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        key = (list, *value) if type(value) is list else value  # a JSON list of strings is keyed by its items
        try:
            return seen[key]
        except KeyError:
            seen[key] = converted = process(value)
            return converted
        except TypeError:  # unhashable (a dict, a list of lists): convert it every time
            return process(value)

    return convert


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` with the values in one bound parameter: an array on PostgreSQL, a JSON array
    read by ``json_each`` on SQLite. Thousands of values cost one parameter, not thousands to render."""
    items = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, items, type_=ARRAY(column.type)))
    table = func.json_each(bindparam(None, json.dumps(items), type_=String)).table_valued("value")
    return column.in_(select(table.c.value))  # type: ignore[no-any-return]


def reserve_ids(session: Session, table: Table, count: int) -> list[int] | None:
    """``count`` new ids from the table's id sequence on PostgreSQL (safe alongside other writers), so
    rows can be inserted with their ids known; None on SQLite, where ids come from the insert itself."""
    if session.get_bind().dialect.name != "postgresql" or not count:
        return None
    return list(
        session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(
                func.generate_series(1, count)
            )
        )
    )


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    same: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows`` (each the values of ``columns``, in order) into ``table``; ``same`` holds the columns
    that take one value on every row (converted once). The caller fills in every default.

    Values go through each column type's own bind processor (JSON, timestamps in UTC), exactly as
    an ORM insert would store them; only SQLAlchemy's per-row statement handling is skipped.
    """
    same = same or {}
    names = [*columns, *same]
    connection = session.connection()
    raw = connection.connection.driver_connection
    dialect = connection.dialect
    processors: list[Callable[[Any], Any] | None]
    if dialect.name == "postgresql":  # COPY takes JSON as its text; the driver adapts everything else
        processors = [json.dumps if _is_json(table.c[c].type) else None for c in names]
        statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    else:
        processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in names]
        statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    fixed = tuple(p(v) if p else v for p, v in zip(processors[len(columns) :], same.values(), strict=True))
    converted = [(i, _converter(p)) for i, p in enumerate(processors[: len(columns)]) if p]
    values: list[Sequence[Any]] = []
    for row in rows:
        if converted:
            line = list(row)
            for i, convert in converted:
                line[i] = convert(line[i])
            values.append((*line, *fixed))
        else:
            values.append((*row, *fixed))
    if not values:
        return
    if dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for each in values:
                copy.write_row(each)
        return
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(statement, values)
    finally:
        cursor.close()


def _is_json(column_type: Any) -> bool:
    return isinstance(column_type, JSON) or "JSON" in type(column_type).__name__


def refresh_statistics(session: Session, tables: Sequence[Table]) -> None:
    """Re-count ``tables`` for SQLite's query planner after a bulk load (``ANALYZE``).

    SQLite never gathers statistics on its own: without them it reads a whole workspace through the
    workspace index and sorts it for every page of an export (a 75k-lead export: 3.5 s, 2.3 s once
    analysed); a full ANALYZE of the two tables costs about 0.1 s per 100k rows. PostgreSQL is left
    to autovacuum, which re-counts a table within a minute or so once a tenth of it has changed;
    here ANALYZE would add half a second to every big import. (Until it has, an export of a table
    that was never analysed is slower too: 100k leads in 3.5-5.1 s instead of 2.5-3.2 s.)
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    for table in tables:
        session.execute(text(f"ANALYZE {table.name}"))


@contextmanager
def planned_per_call(session: Session) -> Iterator[None]:
    """Plan each statement for the values it is given, not once as a prepared statement (PostgreSQL).

    psycopg prepares a statement after its fifth run, and PostgreSQL may then switch to one generic
    plan. For ``domain = ANY($array)`` on a table with no statistics yet (a first big import into a
    new database: autovacuum has not analysed it), that generic plan scans the whole workspace and
    compares every row with every array item: a 100k-row import took 242 s instead of 12 s. Planned
    per call, the array is known, so it is an index lookup or one hashed pass.
    """
    connection: Any = session.connection().connection.driver_connection
    if not hasattr(connection, "prepare_threshold"):
        yield  # SQLite: nothing is prepared across calls
        return
    threshold = connection.prepare_threshold
    connection.prepare_threshold = None
    try:
        yield
    finally:
        connection.prepare_threshold = threshold


_PAUSES_ALLOWED = False


def allow_cycle_collector_pauses() -> None:
    """Let bulk work in this process pause the cycle collector: for worker and command-line processes only.

    The UI process (which runs the embedded jobs too) never calls this: a pause there would hold up
    every other user's page scripts.
    """
    global _PAUSES_ALLOWED
    _PAUSES_ALLOWED = True


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one bulk import or export, where this process allows it.

    Such work allocates millions of small objects (cells, checked rows, value tuples) that form no
    cycles; reference counting frees them as usual, but each full collection would walk all of them
    again (a 100k-row export: 3.0 s with the collector running, 2.4 s paused). Collection resumes,
    and catches up, when the work ends however it ends.
    """
    paused = _PAUSES_ALLOWED and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
