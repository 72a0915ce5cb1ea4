"""``import-csv`` and ``export-csv``: the lead table's CSV in and out from a shell or cron."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from core.cli.output import fail, print_json

FILTER_HELP = (
    "filter as key=value, repeatable: status=qualified, score_min=50, score_max=90, industry=, location=, "
    "technology=, tag=, text=, has_email=yes|no, email_check=valid|risky|invalid|unknown, has_phone=yes|no, "
    "campaign_id=, owner_id=, query="
)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the CSV subcommands."""
    imp = subparsers.add_parser("import-csv", help="import leads from a CSV file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--workspace", required=True, help="workspace name")
    imp.add_argument("--on-duplicate", choices=["update", "skip"], default="update")
    imp.add_argument(
        "--region",
        default="",
        help="country of phone numbers written without +code on rows that name no country (ISO code or name)",
    )
    imp.add_argument("--json", action="store_true", help="print the counts and rejected rows as JSON")
    imp.set_defaults(func=run_import)
    exp = subparsers.add_parser("export-csv", help="export leads to a CSV file")
    exp.add_argument("out", type=Path)
    exp.add_argument("--workspace", required=True, help="workspace name")
    exp.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE", help=FILTER_HELP)
    exp.add_argument("--columns", help="comma-separated columns (default: the usual ones)")
    exp.add_argument("--bom", action="store_true", help="start with a UTF-8 BOM (for Excel)")
    exp.set_defaults(func=run_export)


def parse_filter(items: list[str]):  # type: ignore[no-untyped-def]
    """A ``LeadFilter`` from ``key=value`` strings; ``InvalidInput`` names a bad key."""
    from core.errors import InvalidInput
    from core.leads.models import ADDRESS_STATES
    from core.leads.query import LeadFilter

    values: dict[str, object] = {}
    statuses: list[str] = []
    tags: list[str] = []
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise InvalidInput(f"Filters are key=value; got '{item}'.")
        if key == "status":
            statuses.extend(v for v in value.split(",") if v)
        elif key == "tag":
            tags.extend(v for v in value.split(",") if v)
        elif key in ("score_min", "score_max"):
            values[key] = float(value)
        elif key in ("campaign_id", "owner_id"):
            values[key] = int(value)
        elif key in ("has_email", "has_phone"):
            values[key] = value.lower() in ("yes", "true", "1")
        elif key == "email_check":
            if value not in ADDRESS_STATES:
                raise InvalidInput(f"email_check is one of {', '.join(ADDRESS_STATES)}; got '{value}'.")
            values[key] = value
        elif key in ("industry", "location", "technology", "text"):
            values[key] = value
        elif key == "query":
            values["search_query"] = value
        else:
            raise InvalidInput(f"Unknown filter '{key}'. {FILTER_HELP}")
    return LeadFilter(statuses=tuple(statuses), tags=tuple(tags), **values)  # type: ignore[arg-type]


def run_import(args: argparse.Namespace) -> int:
    """Import the file into the workspace as its owner; exit 0, or 3 when some rows were rejected."""
    from core.auth.admin import owner_actor, workspace_id_by_name
    from core.leads.bulk import allow_cycle_collector_pauses
    from core.leads.csv_import import import_csv

    allow_cycle_collector_pauses()  # this process does nothing else
    if not args.file.is_file():
        return fail(f"no such file: {args.file}")
    actor = owner_actor(workspace_id=workspace_id_by_name(args.workspace))
    result = import_csv(
        actor=actor, data=args.file.read_bytes(), on_duplicate=args.on_duplicate, default_region=args.region
    )
    counts = result.counts()
    if args.json:
        print_json(
            {
                **counts,
                "encoding": result.encoding,
                "delimiter": result.delimiter,
                "skip_reasons": dict(result.skip_reasons),
                "rejected_rows": [{"row": n, "reason": why, "cells": cells} for n, why, cells in result.rejected],
            }
        )
    else:
        print(", ".join(f"{k}: {v}" for k, v in counts.items()))
        for n, why, _cells in result.rejected:
            print(f"row {n}: {why}", file=sys.stderr)
    return 3 if result.rejected else 0


def run_export(args: argparse.Namespace) -> int:
    """Write the workspace's matching leads to OUT; print how many rows as JSON."""
    from core.auth.admin import owner_actor, workspace_id_by_name
    from core.leads.bulk import allow_cycle_collector_pauses
    from core.leads.csv_export import DEFAULT_COLUMNS, export_csv

    allow_cycle_collector_pauses()  # this process does nothing else
    actor = owner_actor(workspace_id=workspace_id_by_name(args.workspace))
    columns = tuple(c.strip() for c in args.columns.split(",")) if args.columns else DEFAULT_COLUMNS
    data = export_csv(actor=actor, flt=parse_filter(args.filter), columns=columns, bom=args.bom)
    args.out.write_bytes(data)
    rows = sum(1 for _row in csv.reader(io.StringIO(data.decode("utf-8-sig")))) - 1
    print_json({"file": str(args.out), "rows": rows, "bytes": len(data)})
    return 0
