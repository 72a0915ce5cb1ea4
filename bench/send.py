"""Sending throughput: the outbox (claim, suppression/consent/window/cap checks, logging) through a
local SMTP server (aiosmtpd) and a local SendGrid-speaking server, beside a bare smtplib loop on
the same SMTP server in the same run. Goal: the outbox at >= half the bare loop's rate.

    PYTHONPATH=. .venv/bin/python bench/send.py [--messages 10000] [--database-url URL]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leadscout-bench-send-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    os.environ["DATA_DIR"] = str(tmp / "data")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)

    from sqlalchemy import insert, select

    from core.auth import service as auth
    from core.config import get_settings
    from core.db import UnitOfWork, migrate
    from core.db.models import Contact, Lead, Message
    from core.outreach import sender, service
    from tests.fixtures.outreach_data import settings_for
    from tests.fixtures.outreach_servers import ProviderServer, SMTPServer

    get_settings.cache_clear()
    migrate.downgrade(get_settings().resolved_database_url)
    migrate.upgrade(get_settings().resolved_database_url)
    n = args.messages

    def workspace(label: str):
        email = f"{label}-{time.time_ns()}@bench.test"
        auth.sign_up(email=email, password="correct horse battery", workspace_name=label)
        signed = auth.sign_in(email=email, password="correct horse battery")
        actor = auth.actor_for(user_id=signed.user_id, workspace_id=signed.workspaces[0][0])
        service.update_outreach_settings(actor=actor, postal_address="Bench Ltd, 1 Road, Berlin", timezone="UTC",
                                         send_window=[0, 24], send_weekdays=list(range(7)),
                                         daily_caps={"email": 10**9}, from_email="bench@sender.test")
        with UnitOfWork() as uow:
            ws = actor.workspace_id
            uow.session.execute(insert(Lead), [{"workspace_id": ws, "domain": f"l{i}.{label}.test", "name": f"Lead {i}",
                                                 "status": "qualified"} for i in range(n)])
            lead_ids = list(uow.session.scalars(select(Lead.id).where(Lead.workspace_id == ws).order_by(Lead.id)))
            uow.session.execute(insert(Contact), [{"workspace_id": ws, "lead_id": lid, "kind": "email",
                                                    "value": f"p{i}@{label}.test", "normalised_value": f"p{i}@{label}.test",
                                                    "person_name": "Ada Lovelace"} for i, lid in enumerate(lead_ids)])
            contacts = dict(uow.session.execute(select(Contact.lead_id, Contact.id).where(Contact.workspace_id == ws)).all())
            uow.session.execute(insert(Message), [{"workspace_id": ws, "lead_id": lid, "contact_id": contacts[lid],
                                                    "channel": "email", "subject": f"Hello Lead {i}",
                                                    "body": "Hello,\n\nA short note.\n\nSam", "status": "queued"}
                                                   for i, lid in enumerate(lead_ids)])
            uow.commit()
        return actor

    rows = []
    with SMTPServer() as smtp, ProviderServer() as sendgrid:
        # Bare loop: one connection, smtplib.send_message, nothing else.
        conn = smtplib.SMTP("127.0.0.1", smtp.port)
        started = time.perf_counter()
        for i in range(n):
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = "bench@sender.test", f"p{i}@bare.test", f"Hello Lead {i}"
            msg.set_content("Hello,\n\nA short note.\n\nSam")
            conn.send_message(msg)
        bare = time.perf_counter() - started
        conn.quit()
        rows.append(("bare smtplib loop (no DB)", n, bare))

        for label, settings in (("outbox -> SMTP (aiosmtpd)", settings_for(smtp_port=smtp.port)),
                                ("outbox -> SendGrid (local)", settings_for(sendgrid.url, provider="sendgrid"))):
            actor = workspace(label.split()[2].strip("()").lower())
            started = time.perf_counter()
            summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings)
            rows.append((label, summary.sent, time.perf_counter() - started))
        delivered = len(smtp.envelopes)

    backend = get_settings().resolved_database_url.split(":", 1)[0]
    print(f"\nbench/send.py — {n} messages per row, database: {backend}, 2-core shared machine")
    print(f"{'path':<30} {'sent':>7} {'seconds':>9} {'msg/s':>9} {'vs bare':>8}")
    bare_rate = rows[0][1] / rows[0][2]
    for label, sent, seconds in rows:
        rate = sent / seconds
        print(f"{label:<30} {sent:>7} {seconds:>9.2f} {rate:>9.0f} {rate / bare_rate:>7.0%}")
    print(f"SMTP server received {delivered} messages (bare + outbox); SendGrid server {len(sendgrid.calls)} calls")
    outbox_rate = min(r[1] / r[2] for r in rows[1:])
    print(f"goal (>= 50% of bare): {'met' if outbox_rate >= bare_rate / 2 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
