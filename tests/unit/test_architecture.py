"""The layering rules of STYLE.md, checked with ast: pages stay thin, core stays UI-free."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT

FORBIDDEN_IN_PAGES = {"sqlalchemy", "httpx", "openai", "sendgrid", "twilio", "rq", "redis", "psycopg", "requests", "supabase"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


PAGE_FILES = sorted((PROJECT_ROOT / "pages").glob("*.py")) + [PROJECT_ROOT / "app.py"]
CORE_FILES = sorted((PROJECT_ROOT / "core").rglob("*.py"))


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_pages_do_not_import_storage_or_vendor_sdks(path):
    assert imported_roots(path) & FORBIDDEN_IN_PAGES == set()


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_core_never_imports_streamlit(path):
    assert "streamlit" not in imported_roots(path)


def test_the_checker_sees_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import sqlalchemy.orm\nfrom redis import Redis\nfrom . import sibling\n")
    assert imported_roots(sample) == {"sqlalchemy", "redis"}


def test_only_config_reads_the_environment():
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in CORE_FILES
        if path.name != "config.py" and ("os.environ" in path.read_text() or "os.getenv" in path.read_text())
    ]
    assert offenders == []
