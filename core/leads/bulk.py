"""Bulk inserts and lookups for big imports: COPY on PostgreSQL, executemany on SQLite, one parameter per IN list."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from sqlalchemy import ARRAY, JSON, ColumnElement, String, Table, any_, bindparam, func, select
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


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (every row with the same keys, defaults filled in by the caller) into ``table``.

    Values go through each column type's own bind processor (JSON, timestamps in UTC), exactly as
    an ORM insert would store them; only SQLAlchemy's per-row statement handling is skipped.
    """
    if not rows:
        return
    connection = session.connection()
    columns = list(rows[0])
    raw = connection.connection.driver_connection
    getter = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    dialect = connection.dialect
    if dialect.name == "postgresql":  # COPY takes JSON as its text; the driver adapts everything else
        processors = {c: json.dumps if _is_json(table.c[c].type) else None for c in columns}
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    else:
        processors = {c: table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns}
        statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    converted = [(i, c, _converter(process)) for i, (c, process) in enumerate(processors.items()) if process]
    values = []
    for row in rows:
        line = list(getter(row))
        for i, c, convert in converted:
            line[i] = convert(row[c])
        values.append(line)
    if dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for line in values:
                copy.write_row(line)
        return
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(statement, values)
    finally:
        cursor.close()


def _is_json(column_type: Any) -> bool:
    return isinstance(column_type, JSON) or "JSON" in type(column_type).__name__
