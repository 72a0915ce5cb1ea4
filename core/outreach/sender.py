"""The only way out: claim, send through a channel, record. Exactly one provider call per message.

A message is claimed (queued -> sending) in its own committed transaction before the provider is
called, so a second click, a second worker or a retried job finds nothing left to claim. If the
sender dies after claiming, the row stays ``sending`` and is later marked ``unknown`` (never
re-queued); provider events reconcile it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import Lead, Message, MessageEvent, utcnow
from core.outreach.channels import channel_for, email_provider_name, sms_provider_name
from core.outreach.channels.base import (
    STOP_ERROR_CODE,
    Channel,
    OutcomeUnknown,
    PermanentSendError,
    TransientSendError,
)
from core.outreach.claim import claim_next_message
from core.outreach.limits import RateLimiter
from core.outreach.models import OutgoingMessage, SendResult, SendSummary
from core.outreach.suppression import add_suppression_row

log = logging.getLogger(__name__)
CONTACTED_FROM = ("new", "qualified")


def mark_stale_sending_unknown(*, older_than_seconds: float, uow: UnitOfWork | None = None) -> int:
    """Messages stuck in ``sending`` (their sender died) become ``unknown``; returns how many."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    uow = uow or UnitOfWork()
    with uow:
        stale = list(uow.session.scalars(select(Message).where(Message.status == "sending", Message.updated_at <= cutoff)))
        count = 0
        for message in stale:
            moved = uow.session.execute(
                update(Message).where(Message.id == message.id, Message.status == "sending")
                .values(status="unknown", error="The sender stopped after claiming; the provider may have it. "
                        "Waiting for a provider event; it will not be sent again.")
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount == 1:
                count += 1
                uow.session.add(MessageEvent(workspace_id=message.workspace_id, message_id=message.id,
                                             status="unknown", detail="sender stopped mid-send"))
        uow.commit()
        return count


def _record(message_id: int, *, status: str, detail: str, uow: UnitOfWork, result: SendResult | None = None,
            lead_id: int = 0, suppress: tuple[str, str] | None = None) -> None:
    with uow:
        session = uow.session
        values: dict[str, Any] = {"status": status, "error": "" if status == "sent" else detail}
        if result is not None:
            values.update(provider_message_id=result.provider_message_id or None, sent_at=utcnow())
        moved = session.execute(
            update(Message).where(Message.id == message_id, Message.status.in_(("sending", "unknown")))
            .values(**values).execution_options(synchronize_session=False)
        )
        message = session.get(Message, message_id)
        assert message is not None
        if moved.rowcount == 0 and result is not None and not message.provider_message_id:
            # A provider event got here first (already delivered); keep its status, add the id.
            message.provider_message_id = result.provider_message_id or None
            message.sent_at = message.sent_at or utcnow()
        session.add(MessageEvent(workspace_id=message.workspace_id, message_id=message_id, status=status, detail=detail[:2000]))
        if result is not None and not result.recorded_only and lead_id:
            session.execute(update(Lead).where(Lead.id == lead_id, Lead.status.in_(CONTACTED_FROM))
                            .values(status="contacted").execution_options(synchronize_session=False))
        if suppress is not None:
            add_suppression_row(session, workspace_id=message.workspace_id, channel=message.channel,
                                address=suppress[0], reason=suppress[1], source=f"{message.provider}:send-error")
        uow.commit()


def send_with_retries(channel: Channel, message: OutgoingMessage, *, retries: int, backoff: float,
                      sleep: Callable[[float], None]) -> SendResult:
    """Call the provider, retrying only errors that prove nothing was accepted (429, 5xx, refused)."""
    for attempt in range(retries + 1):
        try:
            return channel.send(message)
        except TransientSendError as error:
            if attempt == retries:
                raise
            delay = error.retry_after if error.retry_after is not None else backoff * (2**attempt)
            log.info("transient send failure for message %s, retrying in %.1fs: %s", message.message_id, delay, error)
            sleep(min(delay, 300.0))
    raise AssertionError("unreachable")


def send_queued(
    *, workspace_id: int | None = None, settings: Settings | None = None, uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
    channels: dict[str, Channel] | None = None, limit: int | None = None, now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep, progress: Callable[[int, str], None] | None = None,
) -> SendSummary:
    """Send queued messages until none is left (or ``limit``); safe to run in many processes at once."""
    s = settings or get_settings()
    if s.outreach_stale_sending_seconds:
        mark_stale_sending_unknown(older_than_seconds=s.outreach_stale_sending_seconds, uow=uow_factory())
    providers = {"email": email_provider_name(s), "sms": sms_provider_name(s)}
    opened: dict[str, Channel] = dict(channels or {})
    rate = RateLimiter(s.outreach_rate_per_second, sleep=sleep)
    counts = {"sent": 0, "failed": 0, "unknown": 0, "suppressed": 0}
    skip: set[int] = set()
    waiting: set[int] = set()
    capped: set[int] = set()
    details: list[str] = []
    try:
        while limit is None or sum(counts.values()) < limit:
            outcome = claim_next_message(uow=uow_factory(), settings=s, providers=providers, now=now(),
                                         workspace_id=workspace_id, skip=frozenset(skip))
            waiting.update(outcome.waiting)
            capped.update(outcome.capped)
            skip.update(outcome.waiting + outcome.capped)
            if outcome.kind == "none":
                break
            if outcome.kind == "refused":
                counts["suppressed"] += 1
                details.append(f"message {outcome.message_id}: {outcome.reason}")
                continue
            message = outcome.message
            assert message is not None
            channel = opened.get(message.channel) or opened.setdefault(message.channel, channel_for(message.channel, s))
            rate.wait(message.channel)
            status = _send_one(channel, message, outcome.lead_id, s, uow_factory, sleep)
            counts[status] += 1
            if status != "sent":
                details.append(f"message {message.message_id}: {status}")
            if progress:
                progress(sum(counts.values()), f"{counts['sent']} sent")
    finally:
        for channel in opened.values():
            channel.close()
    return SendSummary(sent=counts["sent"], failed=counts["failed"], unknown=counts["unknown"],
                       suppressed=counts["suppressed"], waiting=len(waiting), capped=len(capped), details=tuple(details))


def _send_one(channel: Channel, message: OutgoingMessage, lead_id: int, s: Settings,
              uow_factory: Callable[[], UnitOfWork], sleep: Callable[[float], None]) -> str:
    try:
        result = send_with_retries(channel, message, retries=s.outreach_send_retries,
                                   backoff=s.outreach_backoff_base_seconds, sleep=sleep)
    except OutcomeUnknown as error:
        _record(message.message_id, status="unknown", detail=str(error), uow=uow_factory())
        return "unknown"
    except TransientSendError as error:
        _record(message.message_id, status="failed", detail=f"Gave up after {s.outreach_send_retries + 1} tries: {error}",
                uow=uow_factory())
        return "failed"
    except PermanentSendError as error:
        stop = (message.to_address, "stop") if error.code == STOP_ERROR_CODE else None
        _record(message.message_id, status="failed", detail=str(error), uow=uow_factory(), suppress=stop)
        return "failed"
    except Exception as error:  # a bug or an unexpected vendor failure after the call began: never resend
        log.exception("unexpected error sending message %s", message.message_id)
        _record(message.message_id, status="unknown", detail=f"Unexpected error: {type(error).__name__}: {error}",
                uow=uow_factory())
        return "unknown"
    detail = "recorded in the outbox (not delivered)" if result.recorded_only else f"accepted by {result.provider}"
    _record(message.message_id, status="sent", detail=detail, uow=uow_factory(), result=result, lead_id=lead_id)
    return "sent"


def send_job(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Job entry point ``outreach.send``: send the workspace's queued messages (safe to run twice)."""
    summary = send_queued(
        workspace_id=args.get("workspace_id") or ctx.workspace_id,
        progress=lambda done, msg: ctx.progress(done, None, msg),
    )
    return {"sent": summary.sent, "failed": summary.failed, "unknown": summary.unknown,
            "suppressed": summary.suppressed, "waiting": summary.waiting, "capped": summary.capped}
