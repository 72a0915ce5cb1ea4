"""``check``: exit non-zero with the reasons when LeadScout needs an operator (for cron)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from core.cli.output import print_json


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the check subcommand."""
    check = subparsers.add_parser(
        "check", help="health check for cron: queues, workers, failures, budgets, providers (exit 1 on problems)"
    )
    check.add_argument("--notify", action="store_true", help="post problems to ALERT_WEBHOOK_URL (Slack-compatible)")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Print {"ok", "problems"} as JSON and one line per problem on stderr; 1 when anything is wrong."""
    from core.monitoring.alerts import find_problems, notify

    problems = find_problems()
    print_json({"ok": not problems, "problems": [asdict(problem) for problem in problems]})
    for problem in problems:
        print(f"{problem.check}: {problem.detail}", file=sys.stderr)
    if problems and args.notify:
        notify(problems)
        print(f"posted {len(problems)} problem(s) to ALERT_WEBHOOK_URL", file=sys.stderr)
    return 1 if problems else 0
