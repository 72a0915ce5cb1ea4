"""``python -m core``: LeadScout's services from the command line (JSON out, errors on stderr)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from core.cli.output import fail
from core.errors import LeadScoutError
from core.logs import configure_logging

# Each module adds its subcommands.
COMMAND_MODULES = (
    "core.cli.admin",
    "core.cli.plan",
    "core.cli.extract",
    "core.cli.crawl",
    "core.cli.outreach",
    "core.cli.replies",
    "core.cli.leads",
    "core.cli.check",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(prog="python -m core", description="LeadScout without the UI.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the subcommand, turn LeadScout errors into exit code 1."""

    configure_logging("cli")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LeadScoutError as error:
        return fail(str(error))
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except Exception as error:  # a bug: log it with its traceback, say so briefly
        logging.getLogger("core.cli").exception("command failed")
        return fail(f"unexpected {type(error).__name__}: {error}", 2)


if __name__ == "__main__":
    sys.exit(main())
