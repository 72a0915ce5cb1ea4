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
    send.set_defaults(func=run_send_approved)
    sync = subparsers.add_parser(
        "sync-suppressions", help="pull bounces/unsubscribes/spam reports from SendGrid and Mailgun"
    )
    sync.set_defaults(func=run_sync_suppressions)


def run_send_approved(args: argparse.Namespace) -> int:
    """Send what is queued; print the summary as JSON."""
    from core.outreach.sender import send_queued
    from core.outreach.service import queue_approved

    if args.queue_approved:
        queue_approved(workspace_id=args.workspace_id or None, by="the command line")
    summary = send_queued(workspace_id=args.workspace_id, limit=args.limit)
    print_json(
        {
            "sent": summary.sent,
            "failed": summary.failed,
            "unknown": summary.unknown,
            "suppressed": summary.suppressed,
            "waiting": summary.waiting,
            "capped": summary.capped,
            "details": list(summary.details),
        }
    )
    return 0 if not summary.failed and not summary.unknown else 3


def run_sync_suppressions(args: argparse.Namespace) -> int:
    """Pull provider suppression lists; print how many were new as JSON."""
    from core.outreach.sync import sync_suppressions

    print_json({"added": sync_suppressions()})
    return 0
