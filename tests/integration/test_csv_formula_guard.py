"""Every CSV the product writes goes through one formula guard; hostile cells come out as text.

The writers are found in the source, not listed by hand: a new CSV writer that bypasses
``core.csv_safe.formula_safe_writer``, or uses it without a case here, fails this file.
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT
from core.leads.csv_export import export_csv, export_csv_stream
from core.leads.csv_import import import_csv, rejected_csv
from core.leads.query import LeadFilter
from core.outreach import suppression
from tests.conftest import make_owner, unique
from tests.fixtures.leads_data import make_lead

HOSTILE = ["=1+1", "+1+1", "-1+1", "@SUM(1+1)", "\t=1+1", "\r=1+1", "=cmd|' /c calc'!a0"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PRODUCT = [PROJECT_ROOT / name for name in ("core", "pages", "ui", "workers")] + [
    PROJECT_ROOT / "app.py",
    PROJECT_ROOT / "server.py",
]
GUARD_MODULE = PROJECT_ROOT / "core" / "csv_safe.py"


def product_files() -> list[Path]:
    return sorted(
        file for root in PRODUCT for file in ([root] if root.is_file() else root.rglob("*.py")) if file != GUARD_MODULE
    )


def calls_in(path: Path) -> list[tuple[str, str]]:
    """(enclosing function, called name) for every call whose name ends in writer/DictWriter/to_csv."""
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Call):
                func = child.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("writer", "DictWriter", "to_csv", "formula_safe_writer"):
                    found.append((inner, name))
            visit(child, inner)

    visit(ast.parse(path.read_text()), "<module>")
    return found


def csv_writers() -> dict[str, str]:
    """'module:function' -> the writer it calls, for every CSV writer in the product."""
    writers = {}
    for path in product_files():
        module = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        for function, name in calls_in(path):
            writers[f"{module}:{function}"] = name
    return writers


def lead_export(owner) -> str:
    tag = unique("inj")
    for i, payload in enumerate(HOSTILE):
        make_lead(owner, f"{tag}-{i}.com", name=payload, notes=payload, tags=[payload])
    data = export_csv(actor=owner, flt=LeadFilter(text=tag), columns=("domain", "company", "notes", "tags"))
    return data.decode("utf-8")


def streamed_lead_export(owner) -> str:
    """The export the API streams (GET /api/v1/leads/export.csv), in chunks of two rows."""
    tag = unique("inj")
    for i, payload in enumerate(HOSTILE):
        make_lead(owner, f"{tag}-{i}.com", name=payload, notes=payload, tags=[payload])
    chunks = export_csv_stream(
        actor=owner, flt=LeadFilter(text=tag), columns=("domain", "company", "notes", "tags"), rows_per_chunk=2
    )
    return b"".join(chunks).decode("utf-8")


def rejected_rows(owner) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["company", "website", "notes"])
    for payload in HOSTILE:
        writer.writerow([payload, payload, payload])  # a formula is no website: every row is rejected
    result = import_csv(actor=owner, data=out.getvalue().encode())
    assert len(result.rejected) == len(HOSTILE)
    return rejected_csv(result).decode("utf-8-sig")


def suppression_export(owner) -> str:
    for payload in HOSTILE:
        suppression.add_suppression(actor=owner, channel="email", address=f"{payload}@evil.example", source=payload)
    suppression.add_suppression(actor=owner, channel="sms", address="+49 30 1234567")
    return suppression.export_suppressions_csv(actor=owner)


PRODUCERS: dict[str, Callable[..., str]] = {
    "core.leads.csv_export:export_csv": lead_export,
    "core.leads.csv_export:_chunks": streamed_lead_export,
    "core.leads.csv_import:rejected_csv": rejected_rows,
    "core.outreach.suppression:export_suppressions_csv": suppression_export,
}


def test_every_csv_writer_in_the_product_goes_through_the_guard():
    writers = csv_writers()
    assert {where: name for where, name in writers.items() if name != "formula_safe_writer"} == {}
    assert set(writers) == set(PRODUCERS), "a CSV writer without a case in PRODUCERS (or a case without a writer)"


@pytest.mark.parametrize("producer", list(PRODUCERS))
def test_hostile_cells_come_out_as_text(owner, producer):
    text = PRODUCERS[producer](owner)
    cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    for payload in HOSTILE:  # each payload is there, as text (imports and addresses strip the tab or CR)
        assert any(cell.startswith(("'" + payload, "'" + payload.strip())) for cell in cells), payload


def test_an_exported_suppression_list_imports_back_unchanged(owner):
    text = suppression_export(owner)
    other = make_owner()
    added, problems = suppression.import_suppressions_csv(actor=other, text=text)
    assert problems == []
    before = sorted((s.channel, s.address) for s in suppression.list_suppressions(actor=owner))
    after = sorted((s.channel, s.address) for s in suppression.list_suppressions(actor=other))
    assert added == len(before) and after == before
