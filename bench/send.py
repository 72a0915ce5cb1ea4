"""Sending throughput: the outbox (claim, suppression/consent/window/cap checks, logging) through a
local SMTP server (aiosmtpd) and a local SendGrid-speaking server, beside a bare smtplib loop on
the same SMTP server in the same run, on each database given. Goal: the outbox at >= half the
bare loop's rate.

    PYTHONPATH=. .venv/bin/python bench/send.py [--messages 10000]
        [--database-url sqlite] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/leadscout_bench_send]

``--database-url`` may be repeated; ``sqlite`` means a fresh SQLite file (the default). Every
database given is migrated down to nothing and up again: use a scratch database.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def bare_loop(port: int, n: int) -> float:
    """Seconds for n messages over one smtplib connection, nothing else."""
    conn = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for i in range(n):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "bench@sender.test", f"p{i}@bare.test", f"Hello Lead {i}"
        msg.set_content("Hello,\n\nA short note.\n\nSam")
        conn.send_message(msg)
    seconds = time.perf_counter() - started
    conn.quit()
    return seconds


def queued_workspace(label: str, n: int):
    """A workspace with n qualified leads, each with one queued email; returns its owner."""
    from sqlalchemy import insert, select

    from core.auth import service as auth
    from core.db import UnitOfWork
    from core.db.models import Contact, Lead, Message
    from core.outreach import sending_settings

    email = f"{label}-{time.time_ns()}@bench.test"
    auth.sign_up(email=email, password="correct horse battery", workspace_name=label)
    signed = auth.sign_in(email=email, password="correct horse battery")
    actor = auth.actor_for(user_id=signed.user_id, workspace_id=signed.workspaces[0][0])
    # A cap that never binds, so the daily-cap count runs on every batch as the table grows.
    sending_settings.update_outreach_settings(
        actor=actor,
        postal_address="Bench Ltd, 1 Road, Berlin",
        timezone="UTC",
        send_window=[0, 24],
        send_weekdays=list(range(7)),
        daily_caps={"email": 100_000},
        from_email="bench@sender.test",
    )
    with UnitOfWork() as uow:
        ws = actor.workspace_id
        uow.session.execute(
            insert(Lead),
            [
                {"workspace_id": ws, "domain": f"l{i}.{label}.test", "name": f"Lead {i}", "status": "qualified"}
                for i in range(n)
            ],
        )
        lead_ids = list(uow.session.scalars(select(Lead.id).where(Lead.workspace_id == ws).order_by(Lead.id)))
        uow.session.execute(
            insert(Contact),
            [
                {
                    "workspace_id": ws,
                    "lead_id": lid,
                    "kind": "email",
                    "value": f"p{i}@{label}.test",
                    "normalised_value": f"p{i}@{label}.test",
                    "person_name": "Ada Lovelace",
                }
                for i, lid in enumerate(lead_ids)
            ],
        )
        contacts = dict(
            uow.session.execute(select(Contact.lead_id, Contact.id).where(Contact.workspace_id == ws)).all()
        )
        uow.session.execute(
            insert(Message),
            [
                {
                    "workspace_id": ws,
                    "lead_id": lid,
                    "contact_id": contacts[lid],
                    "channel": "email",
                    "subject": f"Hello Lead {i}",
                    "body": "Hello,\n\nA short note.\n\nSam",
                    "status": "queued",
                }
                for i, lid in enumerate(lead_ids)
            ],
        )
        uow.commit()
    return actor


def outbox_rows(url: str, n: int, smtp, sendgrid) -> list[tuple[str, int, float]]:
    """Migrate ``url`` from scratch, then time the outbox through SMTP and through SendGrid."""
    from core.config import get_settings
    from core.db import migrate
    from core.outreach import sender
    from tests.fixtures.outreach_data import settings_for

    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    migrate.downgrade(url)
    migrate.upgrade(url)
    backend = "sqlite" if url.startswith("sqlite") else "postgres"
    rows = []
    for label, settings in (
        (f"outbox -> SMTP, {backend}", settings_for(smtp_port=smtp.port)),
        (f"outbox -> SendGrid, {backend}", settings_for(sendgrid.url, provider="sendgrid")),
    ):
        actor = queued_workspace(label.split()[2].strip(",").lower(), n)
        started = time.perf_counter()
        summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings)
        rows.append((label, summary.sent, time.perf_counter() - started))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        help="a scratch database (repeatable); 'sqlite' = a fresh SQLite file",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leadscout-bench-send-"))
    urls = [f"sqlite:///{tmp / 'bench.db'}" if u == "sqlite" else u for u in (args.database_url or ["sqlite"])]
    os.environ["DATABASE_URL"] = urls[0]
    os.environ["DATA_DIR"] = str(tmp / "data")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)

    from tests.fixtures.outreach_servers import ProviderServer, SMTPServer

    n = args.messages
    with SMTPServer() as smtp, ProviderServer() as sendgrid:
        rows = [("bare smtplib loop (no DB)", n, bare_loop(smtp.port, n))]
        for url in urls:
            rows.extend(outbox_rows(url, n, smtp, sendgrid))
        rows.append(("bare smtplib loop, again", n, bare_loop(smtp.port, n)))
        delivered = len(smtp.envelopes)

    bare_rate = 2 * n / (rows[0][2] + rows[-1][2])
    from bench.reference import reference_seconds

    print(f"\nmachine reference loop {reference_seconds():.2f} s (bench/reference.py: lower is a faster machine)")
    print(
        f"bench/send.py — {n} messages per row, {os.cpu_count()}-core machine; "
        f"'vs bare' against the mean of the two bare loops ({bare_rate:.0f} msg/s)"
    )
    print(f"{'path':<34} {'sent':>7} {'seconds':>9} {'msg/s':>9} {'vs bare':>8}")
    for label, sent, seconds in rows:
        rate = sent / seconds
        print(f"{label:<34} {sent:>7} {seconds:>9.2f} {rate:>9.0f} {rate / bare_rate:>7.0%}")
    print(
        f"SMTP server received {delivered} messages (bare loops + outbox); SendGrid server {len(sendgrid.calls)} calls"
    )
    outbox_rate = min(sent / seconds for _, sent, seconds in rows[1:-1])
    print(f"goal (every outbox row >= 50% of bare): {'met' if outbox_rate >= bare_rate / 2 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
