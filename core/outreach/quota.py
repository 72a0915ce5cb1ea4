"""Daily send counters behind the per-sender cap: one row per (workspace, channel, provider, local day).

Every message handed to a provider counts (accepted, refused or with an unknown outcome): the cap
is about how much a sender sends, which is what mailbox providers and carriers watch. A claimed
message that goes back to the queue unsent is given back. Callers hold the workspace's claim lock
(an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) when they read and add, so two
senders never both spend the same allowance.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import ColumnElement, case, insert, select, update
from sqlalchemy.orm import Session

from core.db.models import SendQuota


def _row(workspace_id: int, channel: str, provider: str, day: date) -> tuple[ColumnElement[bool], ...]:
    return (
        SendQuota.workspace_id == workspace_id,
        SendQuota.channel == channel,
        SendQuota.provider == provider,
        SendQuota.day == day,
    )


def used(
    session: Session, *, workspace_id: int, channel: str, provider: str, day: date, count_so_far: Callable[[], int]
) -> int:
    """Messages this sender has sent on ``day``; a new day's row starts from ``count_so_far()``
    (the day's messages already out, for the first claim after an upgrade or a cap change)."""
    current = session.scalar(select(SendQuota.used).where(*_row(workspace_id, channel, provider, day)))
    if current is not None:
        return current
    start = count_so_far()
    session.execute(
        insert(SendQuota).values(workspace_id=workspace_id, channel=channel, provider=provider, day=day, used=start)
    )
    return start


def spend(session: Session, *, workspace_id: int, channel: str, provider: str, day: date, count: int) -> None:
    """Add ``count`` claimed messages to the day's row (read by ``used`` earlier in this transaction)."""
    session.execute(
        update(SendQuota).where(*_row(workspace_id, channel, provider, day)).values(used=SendQuota.used + count)
    )


def give_back(session: Session, *, workspace_id: int, channel: str, provider: str, day: date, count: int) -> None:
    """Return ``count`` messages that were claimed on ``day`` but never handed to the provider."""
    session.execute(
        update(SendQuota)
        .where(*_row(workspace_id, channel, provider, day))
        .values(used=case((SendQuota.used > count, SendQuota.used - count), else_=0))
    )
