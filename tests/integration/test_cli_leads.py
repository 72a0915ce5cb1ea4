"""``import-csv`` and ``export-csv`` as a script runs them: counts and rejected rows as JSON."""

from __future__ import annotations

import argparse
import csv
import io
import json

import pytest

from core.cli import leads as leads_cli
from core.errors import InvalidInput, NotFound
from tests.conftest import make_owner, unique


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    leads_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_import_then_export_with_a_filter(tmp_path, capsys):
    actor = make_owner()
    tag = unique("cli")
    source = tmp_path / "in.csv"
    source.write_bytes(
        f"Company\tWebsite\tEmail\tTags\nOne\t{tag}-1.com\ta@{tag}-1.com\tvip\nTwo\t{tag}-2.com\t\t\nBad\t\tnope\t\n".encode("cp1252"))
    assert run("import-csv", str(source), "--workspace", actor.workspace_name, "--json") == 3
    out = json.loads(capsys.readouterr().out)
    assert (out["rows_read"], out["imported"], out["updated"], out["skipped"], out["rejected"]) == (3, 2, 0, 0, 1)
    assert out["rejected_rows"][0]["row"] == 3 and "nope" in out["rejected_rows"][0]["reason"]
    assert run("import-csv", str(source), "--workspace", actor.workspace_name, "--on-duplicate", "skip", "--json") == 3
    again = json.loads(capsys.readouterr().out)
    assert (again["imported"], again["skipped"]) == (0, 2)

    target = tmp_path / "out.csv"
    assert run("export-csv", "--workspace", actor.workspace_name, str(target), "--filter", "tag=vip",
               "--filter", "has_email=yes", "--columns", "company,website,email,tags") == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 1
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert rows == [{"company": "One", "website": f"https://{tag}-1.com", "email": f"a@{tag}-1.com", "tags": "vip"}]


def test_bad_workspace_and_filter_are_errors(tmp_path):
    with pytest.raises(NotFound):
        run("export-csv", "--workspace", unique("nobody"), str(tmp_path / "x.csv"))
    with pytest.raises(InvalidInput, match="Unknown filter"):
        leads_cli.parse_filter(["colour=red"])
