"""The one formula guard for every CSV LeadScout writes (OWASP "CSV injection").

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return
before one) as a formula, so such a cell is written with a leading apostrophe, which spreadsheets
show as text. Every CSV the product writes comes from ``formula_safe_writer``
(tests/integration/test_csv_formula_guard.py finds the writers and fails on any other), and our
CSV readers take the apostrophe off again with ``unguard`` so an export imports back unchanged.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
_GUARDED = tuple("'" + start for start in FORMULA_STARTS)


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def neutralise(value: Any) -> Any:
    """``value`` with a leading apostrophe when a spreadsheet would run it as a formula; other values as they are."""
    if isinstance(value, str) and value[:1] in _FORMULA_FIRST:
        return "'" + value
    return value


def unguard(value: str) -> str:
    """Undo ``neutralise`` on a cell read back from one of our own files."""
    return value[1:] if value.startswith(_GUARDED) else value


class FormulaSafeWriter:
    """``csv.writer`` whose every cell goes through ``neutralise``."""

    def __init__(self, out: _Writable, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        """Write one row, formula cells neutralised."""
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write many rows, formula cells neutralised."""
        self._writer.writerows([neutralise(cell) for cell in row] for row in rows)


def formula_safe_writer(out: _Writable, **options: Any) -> FormulaSafeWriter:
    """The only way LeadScout writes CSV: ``csv.writer(out, **options)`` behind the formula guard."""
    return FormulaSafeWriter(out, **options)
