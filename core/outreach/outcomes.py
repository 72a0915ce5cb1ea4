"""Writing down what happened to claimed messages: their outcomes, or their release back to the queue.

Outcomes are buffered and written together, at the end of each claimed batch (or sooner when a
send is slow), in one transaction. A crash before that write leaves the messages ``sending``,
with their attempt marked (``attempts.py``), which later become ``unknown``: the same as a crash
during the provider call, and never a resend.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.db.models import Lead, Message, MessageEvent, Workspace
from core.outreach import quota
from core.outreach.limits import start_of_day
from core.outreach.models import SendResult
from core.outreach.suppression import add_suppression_row
from core.webhooks import events as webhooks

CONTACTED_FROM = ("new", "qualified")
IN_FLIGHT = ("sending", "unknown")
FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class Outcome:
    """What one provider call ended in."""

    message_id: int
    workspace_id: int
    channel: str
    provider: str
    status: str  # sent | failed | unknown
    detail: str
    at: datetime
    result: SendResult | None = None
    lead_id: int = 0
    suppress: tuple[str, str] | None = None  # (address, reason) to suppress, e.g. Twilio's STOP error


def _outcome_update() -> Update:
    table = cast(Table, Message.__table__)
    settles = or_(*(table.c.status == status for status in IN_FLIGHT))  # no IN: executemany can't expand it
    # A provider event may have got here first (already delivered): keep its status, add the id.
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            status=case((settles, bindparam("b_status")), else_=table.c.status),
            error=case((settles, bindparam("b_error")), else_=table.c.error),
            provider_message_id=func.coalesce(table.c.provider_message_id, bindparam("b_provider_id")),
            sent_at=func.coalesce(table.c.sent_at, bindparam("b_sent_at")),
            updated_at=bindparam("b_at"),
        )
    )


def write_outcomes(session: Session, outcomes: list[Outcome]) -> None:
    """Store outcomes, their log events and the leads they contacted, in the caller's transaction."""
    if not outcomes:
        return
    session.connection().execute(
        _outcome_update(),
        [
            {
                "b_id": o.message_id,
                "b_status": o.status,
                "b_error": "" if o.status == "sent" else o.detail,
                "b_provider_id": (o.result.provider_message_id or None) if o.result else None,
                "b_sent_at": o.at if o.result else None,
                "b_at": o.at,
            }
            for o in outcomes
        ],
    )
    session.execute(
        insert(MessageEvent),
        [
            {
                "workspace_id": o.workspace_id,
                "message_id": o.message_id,
                "status": o.status,
                "detail": o.detail[:2000],
                "created_at": o.at,
            }
            for o in outcomes
        ],
    )
    # Recorded in the outbox counts too: it is the default channel, and the user sends the .eml on from there.
    contacted = sorted({o.lead_id for o in outcomes if o.result is not None and o.lead_id})
    if contacted:
        session.execute(
            update(Lead)
            .where(Lead.id.in_(contacted), Lead.status.in_(CONTACTED_FROM))
            .values(status="contacted")
            .execution_options(synchronize_session=False)
        )
    sent: dict[int, list[dict[str, Any]]] = {}
    for o in outcomes:
        if o.status == "sent":
            item = {
                "id": o.message_id,
                "lead_id": o.lead_id,
                "channel": o.channel,
                "provider": o.provider,
                "sent_at": o.at,
            }
            sent.setdefault(o.workspace_id, []).append(item)
    for workspace_id, items in sent.items():
        webhooks.emit_many(session, workspace_id=workspace_id, event="message.sent", items=items)
    for o in outcomes:
        if o.suppress is not None:
            add_suppression_row(
                session,
                workspace_id=o.workspace_id,
                channel=o.channel,
                address=o.suppress[0],
                reason=o.suppress[1],
                source=f"{o.provider}:send-error",
            )


class OutcomeBuffer:
    """Collects outcomes and writes them in one transaction per batch, or once FLUSH_SECONDS have passed."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._pending: list[Outcome] = []
        self._since = 0.0

    def add(self, outcome: Outcome) -> None:
        """Remember an outcome; writes everything pending when the oldest has waited long enough."""
        if not self._pending:
            self._since = self._clock()
        self._pending.append(outcome)
        if self._clock() - self._since >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write every pending outcome now."""
        if not self._pending:
            return
        with self._uow_factory() as uow:
            write_outcomes(uow.session, self._pending)
            uow.commit()
        self._pending = []


def release_unsent(*, message_ids: list[int], uow: UnitOfWork) -> int:
    """Claimed messages no provider was ever called for go back to ``queued`` (and back into their
    sender's daily allowance, on the day they were claimed); returns how many."""
    with uow:
        session = uow.session
        claimed = session.execute(  # updated_at is the claim time: nothing touches a 'sending' row before its send
            select(
                Message.id,
                Message.workspace_id,
                Message.channel,
                Message.provider,
                Message.updated_at,
                Workspace.settings,
            )
            .join(Workspace, Workspace.id == Message.workspace_id)
            .where(Message.id.in_(message_ids), Message.status == "sending", Message.attempt_started_at.is_(None))
            .with_for_update(of=Message)
        ).all()
        rows = (
            session.execute(
                update(Message)
                .where(
                    Message.id.in_([row.id for row in claimed]),
                    Message.status == "sending",
                    Message.attempt_started_at.is_(None),  # an attempt may have reached the provider
                )
                .values(status="queued")
                .returning(Message.id, Message.workspace_id)
                .execution_options(synchronize_session=False)
            ).all()
            if claimed
            else []
        )
        released = {mid for mid, _ws in rows}
        returned = Counter(
            (
                row.workspace_id,
                row.channel,
                row.provider,
                start_of_day(row.updated_at, (row.settings or {}).get("timezone") or "UTC").date(),
            )
            for row in claimed
            if row.id in released
        )
        for (workspace_id, channel, provider, day), count in returned.items():
            quota.give_back(
                session, workspace_id=workspace_id, channel=channel, provider=provider, day=day, count=count
            )
        if rows:
            session.execute(
                insert(MessageEvent),
                [
                    {
                        "workspace_id": ws,
                        "message_id": mid,
                        "status": "queued",
                        "detail": "released: the sender stopped before sending it",
                    }
                    for mid, ws in rows
                ],
            )
        uow.commit()
        return len(rows)
