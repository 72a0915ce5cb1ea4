"""``read-replies`` and ``watch-replies``: the sending mailbox read from cron, a shell or its own process."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from dataclasses import asdict
from pathlib import Path

from core.cli.output import print_json

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the replies subcommands."""
    read = subparsers.add_parser("read-replies", help="read new mail from the IMAP mailbox once (IMAP_* settings)")
    read.add_argument("--file", type=Path, nargs="*", help="record these .eml files instead of reading IMAP")
    read.set_defaults(func=run_read_replies)
    watch = subparsers.add_parser(
        "watch-replies", help="keep reading the IMAP mailbox (IDLE where the server has it, else a poll)"
    )
    watch.set_defaults(func=run_watch_replies)


def run_read_replies(args: argparse.Namespace) -> int:
    """Read once; print what was read and stored as JSON."""
    from core.replies.imap import poll_mailbox
    from core.replies.service import record_raw_mail

    if args.file:
        stored = []
        for path in args.file:
            reply = record_raw_mail(raw=path.read_bytes(), source="file", fallback_key=f"file:{path.resolve()}")
            stored.append(
                {
                    "file": str(path),
                    "stored": reply is not None,
                    "label": reply.label if reply else None,
                    "matched_by": reply.matched_by if reply else None,
                }
            )
        print_json({"files": stored})
        return 0
    print_json(asdict(poll_mailbox()))
    return 0


def run_watch_replies(args: argparse.Namespace) -> int:
    """Read new mail as it arrives until SIGTERM or Ctrl-C."""
    from core.replies.imap import watch_mailbox

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        watch_mailbox(stop=stop, on_poll=lambda result: log.info("mailbox read: %s", asdict(result)))
    except KeyboardInterrupt:
        stop.set()
    return 0
