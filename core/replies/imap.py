"""Reading replies from the sending mailbox over IMAP (IMAPClient), each mail exactly once.

The folder is opened read-only (nothing is marked read or moved in the user's mailbox). Where the
reading got to — the folder's UIDVALIDITY and the last UID — is stored in ``mailbox_cursor`` and
moved forward in the same transaction that stores the mails, so a crash or a restart neither skips
nor repeats one. When the server renumbers the folder (a new UIDVALIDITY) it is read again from the
start, and each mail's Message-ID keeps what was already stored from being stored twice.

"The start" is a day before the first email LeadScout sent, not the folder's first mail: the sending
mailbox is often a person's everyday mailbox, and its years of older mail cannot be answers to us (read
whole, they would fill the Inbox with thousands of unrelated mails). Before anything is sent, nothing
is read.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import MailboxCursor, Message, utcnow
from core.errors import MailboxError
from core.replies.match import SENT_STATUSES
from core.replies.models import PollResult
from core.replies.service import read_mail, record_many

log = logging.getLogger(__name__)

FETCH_CHUNK = 200
FETCHED = ["BODY.PEEK[]", "INTERNALDATE"]
IDLE_SECONDS_MAX = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes


class Mailbox(Protocol):
    """The part of IMAPClient this module uses (a test may hand in a client it opened itself)."""

    def select_folder(self, folder: str, readonly: bool = False) -> dict[bytes, Any]: ...
    def search(self, criteria: Any = "ALL", charset: str | None = None) -> list[int]: ...
    def fetch(self, messages: Iterable[int], data: list[str]) -> dict[int, dict[bytes, Any]]: ...
    def logout(self) -> Any: ...


def mailbox_name(settings: Settings) -> str:
    """The cursor's key: which folder of which mailbox on which server."""
    user = settings.imap_user or settings.smtp_user or ""
    return f"imap://{user}@{settings.imap_host}:{settings.imap_port}/{settings.imap_folder}"


def connect(settings: Settings) -> IMAPClient:
    """Log in to the configured mailbox; ``MailboxError`` says what to fix when it fails."""
    if not settings.imap_enabled:
        raise MailboxError("No mailbox to read replies from: set IMAP_HOST (and IMAP_USER or SMTP_USER).")
    password = settings.imap_password or settings.smtp_password
    try:
        client = IMAPClient(
            settings.imap_host,
            port=settings.imap_port,
            ssl=settings.imap_ssl,
            ssl_context=ssl.create_default_context() if settings.imap_ssl else None,
            timeout=30,
        )
        client.login(settings.imap_user or settings.smtp_user or "", password.get_secret_value() if password else "")
    except LoginError as exc:
        raise MailboxError(
            f"The mailbox {mailbox_name(settings)} refused the login: check IMAP_USER/IMAP_PASSWORD."
        ) from exc
    except (OSError, IMAPClientError) as exc:
        raise MailboxError(f"Could not reach the mailbox {mailbox_name(settings)}: {exc}") from exc
    return client


def _ensure_cursor(mailbox: str) -> None:
    """Create the folder's cursor row once (a second process creating it at the same time is fine)."""
    with UnitOfWork() as uow:
        if uow.session.get(MailboxCursor, mailbox) is not None:
            return
        uow.session.add(MailboxCursor(mailbox=mailbox, uidvalidity=0, last_uid=0))
        try:
            uow.commit()
        except IntegrityError:
            pass


def _locked_cursor(uow: UnitOfWork, mailbox: str) -> MailboxCursor:
    """The cursor, locked for this transaction by writing it first: on PostgreSQL a row lock, on SQLite
    the write lock (pysqlite opens a transaction only at a write). A second reader waits here, then
    reads what the first one committed."""
    uow.session.execute(update(MailboxCursor).where(MailboxCursor.mailbox == mailbox).values(updated_at=utcnow()))
    cursor = uow.session.scalar(
        select(MailboxCursor).where(MailboxCursor.mailbox == mailbox).execution_options(populate_existing=True)
    )
    assert cursor is not None
    return cursor


def first_send_day(session: Session) -> date | None:
    """The day before the first email LeadScout sent (created, so never later than sent), or None."""
    first = session.scalar(
        select(func.min(Message.created_at)).where(
            Message.channel == "email", Message.status.in_((*SENT_STATUSES, "sending"))
        )
    )
    return None if first is None else first.date() - timedelta(days=1)


def _store_chunk(mailbox: str, uidvalidity: int, fetched: dict[int, dict[bytes, Any]]) -> tuple[int, int, int]:
    """Store one fetched chunk and move the cursor, in one transaction: (recorded, duplicates, last uid).
    The mails are read and classified before the transaction: no lock is held while the CPU works."""
    parsed = []
    for uid in sorted(fetched):
        data = fetched[uid]
        arrived = data.get(b"INTERNALDATE")
        mail = read_mail(
            data.get(b"BODY[]") or b"",
            source="imap",
            fallback_key=f"{mailbox}#{uidvalidity}:{uid}",
            received_at=arrived.astimezone() if isinstance(arrived, datetime) and arrived.tzinfo else None,
        )
        parsed.append((uid, mail))
    with UnitOfWork() as uow:
        cursor = _locked_cursor(uow, mailbox)  # a second reader waits, then skips what this one stored
        if cursor.uidvalidity != uidvalidity:
            return 0, 0, cursor.last_uid
        unread = [(uid, mail) for uid, mail in parsed if uid > cursor.last_uid]
        stored = record_many(uow.session, [mail for _, mail in unread])
        recorded = sum(reply is not None for reply in stored)
        if unread:  # moved once, in the same transaction as every mail up to it
            cursor.last_uid = unread[-1][0]
        cursor.updated_at = utcnow()
        last_uid = cursor.last_uid
        uow.commit()
    return recorded, len(stored) - recorded, last_uid


def read_new_mail(client: Mailbox, *, mailbox: str, folder: str = "INBOX", chunk: int = FETCH_CHUNK) -> PollResult:
    """Read every mail after the cursor from an open client; safe to run in several processes at once."""
    status = client.select_folder(folder, readonly=True)
    uidvalidity = int(status.get(b"UIDVALIDITY", 0))
    reset = False
    _ensure_cursor(mailbox)
    with UnitOfWork() as uow:
        cursor = _locked_cursor(uow, mailbox)
        if cursor.uidvalidity != uidvalidity:
            reset = cursor.uidvalidity != 0
            if reset:
                log.warning(
                    "Mailbox %s has a new UIDVALIDITY (%s -> %s): reading it again",
                    mailbox,
                    cursor.uidvalidity,
                    uidvalidity,
                )
            cursor.uidvalidity, cursor.last_uid = uidvalidity, 0
        last_uid = cursor.last_uid
        since = first_send_day(uow.session) if last_uid == 0 else None
        uow.commit()
    older = 0
    if last_uid > 0:
        uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
    elif since is None:  # nothing sent yet, so nothing here answers us; the next read looks again
        uids, older = [], int(status.get(b"EXISTS", 0))
    else:  # SINCE compares the date the server received a mail, in the server's time zone: a day early
        uids = sorted(client.search(["SINCE", since]))
        older = max(0, int(status.get(b"EXISTS", 0)) - len(uids))
    recorded = duplicates = 0
    batches = [uids[start : start + chunk] for start in range(0, len(uids), chunk)]
    # The next chunk is fetched on a thread while this one is read and stored: a hosted mailbox is a
    # round trip away, and waiting for it need not add to the work on what has arrived. Only that
    # thread uses the client until the loop is done; a chunk that fails to store stops the reading.
    if batches:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap-fetch") as fetcher:
            coming = fetcher.submit(client.fetch, batches[0], FETCHED)
            for following in [*batches[1:], None]:
                fetched = coming.result()
                if following is not None:
                    coming = fetcher.submit(client.fetch, following, FETCHED)
                added, repeated, last_uid = _store_chunk(mailbox, uidvalidity, fetched)
                recorded, duplicates = recorded + added, duplicates + repeated
    return PollResult(
        mailbox=mailbox,
        read=len(uids),
        recorded=recorded,
        duplicates=duplicates,
        last_uid=last_uid,
        uidvalidity=uidvalidity,
        reset=reset,
        older=older,
    )


def poll_mailbox(*, settings: Settings | None = None) -> PollResult:
    """Connect, read what is new, log out."""
    settings = settings or get_settings()
    client = connect(settings)
    try:
        return read_new_mail(client, mailbox=mailbox_name(settings), folder=settings.imap_folder)
    finally:
        try:
            client.logout()
        except (OSError, IMAPClientError):
            pass


def watch_mailbox(
    *,
    settings: Settings | None = None,
    stop: threading.Event | None = None,
    on_poll: Callable[[PollResult], None] | None = None,
) -> None:
    """Read new mail as it arrives: IMAP IDLE where the server has it, else a poll every IMAP_POLL_SECONDS."""
    settings = settings or get_settings()
    stop = stop or threading.Event()
    mailbox = mailbox_name(settings)
    while not stop.is_set():
        try:
            client = connect(settings)
        except MailboxError as error:
            log.error("%s; trying again in %s s", error, settings.imap_poll_seconds)
            stop.wait(settings.imap_poll_seconds)
            continue
        try:
            idle = b"IDLE" in client.capabilities()
            while not stop.is_set():
                result = read_new_mail(client, mailbox=mailbox, folder=settings.imap_folder)
                if on_poll is not None:
                    on_poll(result)
                if not idle:
                    stop.wait(settings.imap_poll_seconds)
                    continue
                client.idle()
                try:
                    client.idle_check(timeout=min(settings.imap_poll_seconds, IDLE_SECONDS_MAX))
                finally:
                    client.idle_done()
        except (OSError, IMAPClientError) as error:
            log.error("Reading %s failed (%s); reconnecting", mailbox, error)
            stop.wait(5)
        finally:
            try:
                client.logout()
            except (OSError, IMAPClientError):
                pass
