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


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_imports(path: Path, root: Path) -> list[tuple[ast.stmt, str, bool]]:
    """(statement, imported module, inside a function) for every import of a ``core`` module in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path, root)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    in_functions = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node, alias.name, id(node) in in_functions) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]).strip(".")
            module = base if node.level else node.module or ""
            if module == "core":
                found += [(node, f"core.{alias.name}", id(node) in in_functions) for alias in node.names]
            else:
                found.append((node, module, id(node) in in_functions))
    return [(node, module, inner) for node, module, inner in found if module.split(".")[0] == "core"]


def package_cycles(root: Path) -> list[set[str]]:
    """Groups of ``core`` packages that import each other, directly or round a loop (any import counts)."""
    edges: dict[str, set[str]] = {}
    for path in sorted((root / "core").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = ".".join(module_name(path, root).split(".")[:2])
        for _node, module, _inner in core_imports(path, root):
            target = ".".join(module.split(".")[:2])
            if target != source:
                edges.setdefault(source, set()).add(target)

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reach = {package: reachable(package) for package in edges}
    cycles = []
    for package in sorted(edges):
        loop = {package} | {other for other in reach[package] if package in reach.get(other, set())}
        if package in reach[package] and loop not in cycles:
            cycles.append(loop)
    return cycles


def test_core_packages_import_each_other_in_one_direction_only():
    assert package_cycles(PROJECT_ROOT) == []


def test_the_cycle_check_finds_a_cycle(tmp_path):
    for package, imports in (("a", "from core.b import x"), ("b", "def f():\n    from core.c import y\n"), ("c", "import core.a")):
        (tmp_path / "core" / package).mkdir(parents=True)
        (tmp_path / "core" / package / "__init__.py").write_text(imports)
    (tmp_path / "core" / "d.py").write_text("from core.a import z\n")
    assert package_cycles(tmp_path) == [{"core.a", "core.b", "core.c"}]


ENTRY_POINTS = sorted((PROJECT_ROOT / "pages").glob("*.py")) + [PROJECT_ROOT / "app.py", PROJECT_ROOT / "server.py"]


@pytest.mark.parametrize("path", ENTRY_POINTS, ids=lambda p: p.name)
def test_pages_reach_storage_only_through_services(path):
    modules = {module for _node, module, _inner in core_imports(path, PROJECT_ROOT)}
    assert {m for m in modules if m == "core.db" or m.startswith("core.db.")} == set()


REASON = "# imported here:"


def says_why(lines: list[str], node: ast.stmt) -> bool:
    """The import line, or the run of imports, blanks and comments just above it, carries a reason."""
    if REASON in lines[node.lineno - 1]:
        return True
    for line in reversed(lines[: node.lineno - 1]):
        text = line.strip()
        if REASON in text:
            return True
        if text and not text.startswith(("#", "import ", "from ")):
            return False
    return False


def unexplained_function_imports(root: Path) -> list[str]:
    """Imports of other modules inside functions in core (the CLI aside) with no stated reason."""
    found = []
    for path in sorted((root / "core").rglob("*.py")):
        if {"migrations", "cli"} & set(path.parts):
            continue  # each subcommand loads only what it runs: `python -m core --help` stays quick
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, ast.Import | ast.ImportFrom) and not says_why(lines, node):
                        found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_imports_inside_functions_in_core_say_why():
    assert unexplained_function_imports(PROJECT_ROOT) == []


def test_the_reason_check_finds_an_unexplained_import(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "m.py").write_text(
        "def slow():\n"
        "    # imported here: heavy\n"
        "    import json\n\n"
        "    from core import x\n"
        "    return json\n\n"
        "def quick():\n"
        "    value = 1\n"
        "    import json\n"
        "    return json, value\n"
    )
    assert unexplained_function_imports(tmp_path) == ["core/m.py:10"]
