"""``send-approved`` and ``sync-suppressions``: outreach from cron or a shell."""

from __future__ import annotations

import argparse

from core.cli.output import print_json


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the outreach subcommands."""
    send = subparsers.add_parser("send-approved", help="send queued messages (and queue approved ones) now")
    send.add_argument("--workspace-id", type=int, help="only this workspace")
    send.add_argument("--limit", type=int, help="stop after this many messages")
    send.add_argument("--queue-approved", action="store_true", help="queue every approved message first")
    send.add_argument(
        "--include-risky", action="store_true", help="with --queue-approved: also queue emails to risky addresses"
    )
    send.set_defaults(func=run_send_approved)
    sync = subparsers.add_parser(
        "sync-suppressions", help="pull bounces/unsubscribes/spam reports from SendGrid and Mailgun"
    )
    sync.set_defaults(func=run_sync_suppressions)
    verify = subparsers.add_parser(
        "verify-email",
        help="check addresses (syntax, MX else A, disposable, role, free-mail); exit 3 when one is invalid",
    )
    verify.add_argument("addresses", nargs="+", metavar="ADDRESS")
    verify.add_argument("--json", action="store_true", help="print the JSON list (the default output too)")
    verify.set_defaults(func=run_verify_email)


def run_send_approved(args: argparse.Namespace) -> int:
    """Send what is queued; print the summary as JSON."""
    from core.outreach.sender import send_queued
    from core.outreach.service import queue_approved

    if args.queue_approved:
        queue_approved(workspace_id=args.workspace_id or None, by="the command line", include_risky=args.include_risky)
    summary = send_queued(workspace_id=args.workspace_id, limit=args.limit)
    print_json(
        {
            "sent": summary.sent,
            "failed": summary.failed,
            "unknown": summary.unknown,
            "suppressed": summary.suppressed,
            "waiting": summary.waiting,
            "capped": summary.capped,
            "paused": summary.paused,
            "details": list(summary.details),
        }
    )
    return 0 if not summary.failed and not summary.unknown else 3


def run_sync_suppressions(args: argparse.Namespace) -> int:
    """Pull provider suppression lists; print how many were new as JSON."""
    from core.outreach.sync import sync_suppressions

    print_json({"added": sync_suppressions()})
    return 0


def run_verify_email(args: argparse.Namespace) -> int:
    """Print ``[{"address", "state", "reasons"}, ...]``; exit 3 when some address is invalid."""
    from core.outreach.verify import check_addresses

    checks = check_addresses(args.addresses)
    print_json([check.as_dict() for check in checks])
    return 3 if any(check.state == "invalid" for check in checks) else 0
