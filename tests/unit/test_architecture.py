"""The layering rules of STYLE.md, checked with ast: pages stay thin, core stays UI-free."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT

FORBIDDEN_IN_PAGES = {
    "sqlalchemy",
    "httpx",
    "openai",
    "sendgrid",
    "twilio",
    "rq",
    "redis",
    "psycopg",
    "requests",
    "supabase",
}


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


def test_csv_check_workers_start_without_the_search_client_settings_or_database():
    """Each import starts two of them while it parses the file: their start-up is on the clock."""
    code = "import sys, core.leads.csv_worker; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    modules = set(loaded.stdout.split())
    assert "core.leads.csv_rows" in modules
    assert not modules & {"core.search.brave", "core.config", "httpx", "sqlalchemy", "pydantic", "core.db"}


def test_the_search_package_still_offers_every_name_it_lists():
    import core.search

    assert sorted(core.search.__all__) == sorted(core.search._HOME)
    for name in core.search.__all__:
        assert getattr(core.search, name) is getattr(
            importlib.import_module(f"core.search.{core.search._HOME[name]}"), name
        )
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        core.search.nope  # noqa: B018
