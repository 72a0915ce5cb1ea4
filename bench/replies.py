"""Reading replies: N mails in a real IMAP mailbox (Dovecot) read, matched and classified by
``core.replies.imap.read_new_mail``, beside a bare IMAPClient fetch of the same mails in the same
run. Goal: reading at >= half the bare fetch's rate.

    PYTHONPATH=. .venv/bin/python bench/replies.py [--mails 10000] [--link 30,100]
        [--database-url sqlite] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/leadscout_bench_replies]

``--link RTT_MS,MBIT`` reads both ways through a proxy that delays and paces the bytes like a network
link (bench/link.py): a hosted mailbox is not on loopback.

The mailbox holds a mix like a real sending mailbox's: 70 % answers to our messages (In-Reply-To our
Message-ID, with quoted history), 10 % auto-replies, 10 % bounces (the 117 real ones of flufl.bounce's
corpus, each copy with its own Message-ID), 10 % unrelated mail. ``--database-url`` may be repeated;
every database given is migrated down to nothing and up again: use a scratch database.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ANSWERS = (
    "Sounds good, let's talk on Tuesday.",
    "Thanks, but we're not interested.",
    "Not right now, maybe next quarter.",
    "Please remove me from your list.",
    "Who gave you my address?",
    "What does pricing look like for three shops?",
)
BOUNCES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mail" / "flufl_bounce"


def sent_workspace(n: int) -> tuple[int, list[tuple[int, str]]]:
    """A workspace with n sent messages; returns its id and (message id, address) pairs."""
    from sqlalchemy import insert, select

    from core.auth import service as auth
    from core.db import UnitOfWork
    from core.db.models import Contact, Lead, Message, utcnow

    email = f"replies-{time.time_ns()}@bench.test"
    auth.sign_up(email=email, password="correct horse battery", workspace_name="replies bench")
    signed = auth.sign_in(email=email, password="correct horse battery")
    ws = signed.workspaces[0][0]
    with UnitOfWork() as uow:
        uow.session.execute(insert(Lead), [{"workspace_id": ws, "domain": f"l{i}.bench.test", "name": f"Lead {i}",
                                             "status": "contacted"} for i in range(n)])
        leads = list(uow.session.scalars(select(Lead.id).where(Lead.workspace_id == ws).order_by(Lead.id)))
        uow.session.execute(insert(Contact), [{"workspace_id": ws, "lead_id": lead, "kind": "email",
                                                "value": f"p{i}@l{i}.bench.test", "normalised_value": f"p{i}@l{i}.bench.test"}
                                               for i, lead in enumerate(leads)])
        contacts = dict(uow.session.execute(select(Contact.lead_id, Contact.id).where(Contact.workspace_id == ws)).all())
        uow.session.execute(insert(Message), [{"workspace_id": ws, "lead_id": lead, "contact_id": contacts[lead],
                                                "channel": "email", "subject": f"Hello Lead {i}", "body": "Hello",
                                                "status": "sent", "provider": "smtp", "sent_at": utcnow()}
                                               for i, lead in enumerate(leads)])
        uow.commit()
        rows = uow.session.execute(
            select(Message.id, Contact.value).join(Contact, Contact.id == Message.contact_id).where(Message.workspace_id == ws)
        ).all()
    return ws, [(message_id, address) for message_id, address in rows]


def mailbox_contents(n: int, workspace_id: int, sent: list[tuple[int, str]]) -> list[bytes]:
    rng = random.Random(7)
    bounces = [path.read_bytes() for path in sorted(BOUNCES.glob("*.txt"))]
    mails = []
    for i in range(n):
        kind = rng.random()
        if kind < 0.1:  # a real bounce, given its own Message-ID so every copy counts
            raw = bounces[i % len(bounces)]
            head, _, body = raw.partition(b"\n\n")
            lines = [line for line in head.split(b"\n") if not line.lower().startswith(b"message-id:")]
            mails.append(b"\n".join([*lines, f"Message-ID: <bounce{i}@bench.test>".encode()]) + b"\n\n" + body)
            continue
        message_id, address = sent[i % len(sent)]
        mail = EmailMessage()
        mail["Message-ID"] = f"<m{i}@bench.test>"
        mail["To"] = "sam@sender.bench.test"
        if kind < 0.2:
            mail["From"], mail["Subject"] = address, "Automatic reply: Hello"
            mail["Auto-Submitted"] = "auto-replied"
            mail.set_content("I am out of the office until Monday.")
        elif kind < 0.3:
            mail["From"], mail["Subject"] = f"news{i}@elsewhere.example", "Our newsletter"
            mail.set_content("Ten tips for your shop.\n" * 20)
        else:
            mail["From"], mail["Subject"] = address, "Re: Hello"
            mail["In-Reply-To"] = mail["References"] = f"<leadscout.{workspace_id}.{message_id}@sender.bench.test>"
            quote = "\n".join(f"> line {k} of our message" for k in range(12))
            mail.set_content(f"{rng.choice(ANSWERS)}\n\nBest,\nAda\n\nOn Mon, Sam wrote:\n{quote}\n")
        mails.append(mail.as_bytes())
    return mails




def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--database-url", action="append", default=[])
    parser.add_argument("--link", default="", help="RTT_MS,MBIT: read through a shaped link, e.g. 30,100")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leadscout-bench-replies-"))
    urls = [f"sqlite:///{tmp / 'bench.db'}" if u == "sqlite" else u for u in (args.database_url or ["sqlite"])]
    os.environ["DATABASE_URL"] = urls[0]
    os.environ["DATA_DIR"] = str(tmp / "data")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)

    from imapclient import IMAPClient

    from bench.link import shaped_link
    from core.config import get_settings
    from core.db import migrate
    from core.replies.imap import read_new_mail
    from tests.fixtures.imap_server import DovecotServer

    rows = []
    rtt, mbit = (float(part) for part in args.link.split(",")) if args.link else (0.0, 0.0)
    with DovecotServer() as server, shaped_link(server.port, rtt_ms=rtt, mbit=mbit or 1e6) as link_port:

        def reading_client() -> IMAPClient:  # through the link when one is asked for
            client = IMAPClient("127.0.0.1", port=link_port if args.link else server.port, ssl=False, timeout=60)
            client.login(server.user, server.password)
            return client

        for url in urls:
            os.environ["DATABASE_URL"] = url
            get_settings.cache_clear()
            migrate.downgrade(url)
            migrate.upgrade(url)
            workspace_id, sent = sent_workspace(1000)
            mails = mailbox_contents(args.mails, workspace_id, sent)
            client = server.client()
            folder = f"Bench{len(rows)}"
            client.create_folder(folder)
            for start in range(0, len(mails), 500):
                client.multiappend(folder, mails[start : start + 500])
            client.logout()
            client = server.client()
            client.select_folder(folder, readonly=True)
            got = len(client.search(["ALL"]))
            client.logout()
            bare_client = reading_client()
            started = time.perf_counter()
            bare_client.select_folder(folder, readonly=True)
            uids = bare_client.search(["ALL"])
            for start in range(0, len(uids), 200):
                bare_client.fetch(uids[start : start + 200], ["BODY.PEEK[]", "INTERNALDATE"])
            bare_seconds = time.perf_counter() - started
            bare_client.logout()
            reader = reading_client()
            started = time.perf_counter()
            result = read_new_mail(reader, mailbox=f"bench/{folder}", folder=folder)
            ours_seconds = time.perf_counter() - started
            reader.logout()
            backend = "sqlite" if url.startswith("sqlite") else "postgres"
            rows.append((f"bare IMAPClient fetch ({backend} run)", got, bare_seconds))
            rows.append((f"read + match + classify + store, {backend}", result.recorded, ours_seconds))

    from bench.reference import reference_seconds

    print(f"\nmachine reference loop {reference_seconds():.2f} s (bench/reference.py: lower is a faster machine)")
    where = f"through a {rtt:g} ms, {mbit:g} Mbit/s link" if args.link else "on loopback"
    print(f"bench/replies.py — {args.mails} mails per row in Dovecot {where}, {os.cpu_count()}-core machine")
    print(f"{'path':<44} {'mails':>7} {'seconds':>9} {'mails/s':>9} {'vs bare':>8}")
    met = True
    for index in range(0, len(rows), 2):
        (bare_label, bare_n, bare_s), (label, n, seconds) = rows[index], rows[index + 1]
        bare_rate, rate = bare_n / bare_s, n / seconds
        print(f"{bare_label:<44} {bare_n:>7} {bare_s:>9.2f} {bare_rate:>9.0f} {'100%':>8}")
        print(f"{label:<44} {n:>7} {seconds:>9.2f} {rate:>9.0f} {rate / bare_rate:>7.0%}")
        met = met and rate >= bare_rate / 2
    print(f"goal (ours >= 50% of the bare fetch): {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
