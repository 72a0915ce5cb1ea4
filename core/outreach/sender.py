"""The only way out: claim, send through a channel, record. Exactly one provider call per message.

Messages are claimed in small batches (queued -> sending, one committed transaction per batch)
before any provider is called, so a second click, a second worker or a retried job finds nothing
left to claim. Each message is then sent once over the pass's open channel and its outcome is
recorded in its own short transaction. Just before each provider call a committed mark says the
attempt began (and the address is checked for an unsubscribe once more, ``attempts.py``). If the
sender dies after claiming, the claims with that mark are later marked ``unknown`` (never resent;
provider events reconcile them) and those without it go back to the queue. Claimed messages
whose provider call never began are also put back when the pass stops early on an exception.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import utcnow
from core.errors import InvalidInput, OutcomeUnknown, PermanentSendError, TransientSendError
from core.outreach.attempts import AttemptStart, settle_abandoned_claims, start_attempt
from core.outreach.channels import channel_for, email_provider_name, sms_provider_name
from core.outreach.channels.base import STOP_ERROR_CODE, Channel
from core.outreach.claim import BATCH_SIZE, ClaimBatch, Claimed, claim_batch
from core.outreach.limits import ChannelPacers
from core.outreach.models import OutgoingMessage, SendResult, SendSummary
from core.outreach.outcomes import Outcome, OutcomeBuffer, release_unsent
from core.retry import backoff_delay

log = logging.getLogger(__name__)
BATCH_SECONDS = 10.0


def send_with_retries(
    channel: Channel, message: OutgoingMessage, *, retries: int, backoff: float, sleep: Callable[[float], None]
) -> SendResult:
    """Call the provider, retrying only errors that prove nothing was accepted (429, 5xx, refused)."""
    for attempt in range(retries + 1):
        try:
            return channel.send(message)
        except TransientSendError as error:
            if attempt == retries:
                raise
            delay = backoff_delay(attempt, base=backoff, cap=300.0, retry_after=error.retry_after)
            log.info("transient send failure for message %s, retrying in %.1fs: %s", message.message_id, delay, error)
            sleep(delay)
    raise AssertionError("unreachable")


_redis_clients: dict[str, Any] = {}


def shared_redis(settings: Settings) -> Any | None:
    """The process's Redis client for the shared sending rate (None without ``REDIS_URL``)."""
    if not settings.redis_url:
        return None
    client = _redis_clients.get(settings.redis_url)
    if client is None:
        # imported here: redis loads only where REDIS_URL is set
        from redis import Redis

        client = _redis_clients[settings.redis_url] = Redis.from_url(
            settings.redis_url, socket_connect_timeout=5, socket_timeout=10
        )
    return client


def send_queued(
    *,
    workspace_id: int | None = None,
    settings: Settings | None = None,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
    channels: dict[str, Channel] | None = None,
    limit: int | None = None,
    now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int, str], None] | None = None,
) -> SendSummary:
    """Send queued messages until none is left (or ``limit``); safe to run in many processes at once."""
    s = settings or get_settings()
    if s.outreach_stale_sending_seconds:
        settle_abandoned_claims(older_than_seconds=s.outreach_stale_sending_seconds, uow_factory=uow_factory)
    providers = {"email": email_provider_name(s), "sms": sms_provider_name(s)}
    # A batch holds its rows 'sending' only for about BATCH_SECONDS at the configured rate.
    batch_size = max(1, min(BATCH_SIZE, int(s.outreach_rate_per_second * BATCH_SECONDS)))
    run = _Run(
        settings=s,
        channels=dict(channels or {}),
        pacers=ChannelPacers(s.outreach_rate_per_second, sleep=sleep, redis=shared_redis(s)),
        sleep=sleep,
        progress=progress,
    )
    after_id = 0
    try:
        while limit is None or run.done < limit:
            size = batch_size if limit is None else min(batch_size, limit - run.done)
            batch = claim_batch(
                uow=uow_factory(),
                settings=s,
                providers=providers,
                now=now(),
                workspace_id=workspace_id,
                after_id=after_id,
                size=size,
            )
            if not batch.last_id:
                break
            after_id = batch.last_id
            run.take_refusals(batch)
            run.send_batch(batch.claimed, uow_factory)
    finally:
        for channel in run.channels.values():
            channel.close()
    return run.summary()


class _Run:
    """One sending pass: open channels, counts, and the claimed messages not yet handed to a provider."""

    def __init__(
        self,
        *,
        settings: Settings,
        channels: dict[str, Channel],
        pacers: ChannelPacers,
        sleep: Callable[[float], None],
        progress: Callable[[int, str], None] | None,
    ) -> None:
        self.settings, self.channels, self.pacers, self.sleep, self.progress = (
            settings,
            channels,
            pacers,
            sleep,
            progress,
        )
        self.counts = {"sent": 0, "failed": 0, "unknown": 0, "suppressed": 0}
        self.waiting: set[int] = set()
        self.capped: set[int] = set()
        self.paused: set[int] = set()
        self.details: list[str] = []

    @property
    def done(self) -> int:
        """Messages this pass has settled (sent, failed, unknown or refused)."""
        return sum(self.counts.values())

    def take_refusals(self, batch: ClaimBatch) -> None:
        """Count the batch's refused, waiting and capped messages."""
        self.waiting.update(batch.waiting)
        self.capped.update(batch.capped)
        self.paused.update(batch.paused)
        for message_id, reason in batch.refused:
            self.counts["suppressed"] += 1
            self.details.append(f"message {message_id}: {reason}")

    def send_batch(self, claimed: tuple[Claimed, ...], uow_factory: Callable[[], UnitOfWork]) -> None:
        """Send each claimed message once and record it; claims never handed over go back to the queue."""
        pending = list(claimed)
        records = OutcomeBuffer(uow_factory)
        try:
            while pending:
                item = pending[0]
                channel = self.channels.get(item.message.channel) or self.channels.setdefault(
                    item.message.channel, channel_for(item.message.channel, self.settings)
                )
                self.pacers.acquire(item.message.channel)
                start = start_attempt(
                    uow=uow_factory(),
                    message_id=item.message.message_id,
                    workspace_id=item.message.workspace_id,
                    channel=item.message.channel,
                    address=item.address or item.message.to_address,
                    lead_id=item.lead_id,
                    claim_number=item.claim_number,
                    now=utcnow(),
                )
                pending.pop(0)  # from here the provider may be called: this message is never released
                if start.verdict != "go":
                    self._not_attempted(item, start)
                    continue
                status = _send_one(channel, item, self.settings, records, self.sleep)
                self.counts[status] += 1
                if status != "sent":
                    self.details.append(f"message {item.message.message_id}: {status}")
                if self.progress:
                    self.progress(self.done, f"{self.counts['sent']} sent")
        finally:
            records.flush()
            if pending:
                release_unsent(message_ids=[item.message.message_id for item in pending], uow=uow_factory())

    def _not_attempted(self, item: Claimed, start: AttemptStart) -> None:
        message_id = item.message.message_id
        if start.verdict == "refused":
            self.counts["suppressed"] += 1
            self.details.append(f"message {message_id}: {start.reason}")
        else:
            self.details.append(f"message {message_id}: settled by another sender, not sent here")

    def summary(self) -> SendSummary:
        """The pass's outcome."""
        c = self.counts
        return SendSummary(
            sent=c["sent"],
            failed=c["failed"],
            unknown=c["unknown"],
            suppressed=c["suppressed"],
            waiting=len(self.waiting),
            capped=len(self.capped),
            paused=len(self.paused),
            details=tuple(self.details),
        )


def _send_one(
    channel: Channel, item: Claimed, s: Settings, records: OutcomeBuffer, sleep: Callable[[float], None]
) -> str:
    message = item.message

    def record(status: str, detail: str, **extra: Any) -> None:
        records.add(
            Outcome(
                message_id=message.message_id,
                workspace_id=message.workspace_id,
                channel=message.channel,
                provider=item.provider,
                status=status,
                detail=detail,
                at=utcnow(),
                **extra,
            )
        )

    try:
        result = send_with_retries(
            channel, message, retries=s.outreach_send_retries, backoff=s.outreach_backoff_base_seconds, sleep=sleep
        )
    except OutcomeUnknown as error:
        record("unknown", str(error))
        return "unknown"
    except TransientSendError as error:
        record("failed", f"Gave up after {s.outreach_send_retries + 1} tries: {error}")
        return "failed"
    except PermanentSendError as error:
        stop = (message.to_address, "stop") if error.code == STOP_ERROR_CODE else None
        record("failed", str(error), suppress=stop)
        return "failed"
    except InvalidInput as error:  # the channel refused the message while building it: nothing went out
        record("failed", f"Refused before sending: {error}")
        return "failed"
    except Exception as error:  # a bug or an unexpected vendor failure after the call began: never resend
        log.exception("unexpected error sending message %s", message.message_id)
        record("unknown", f"Unexpected error: {type(error).__name__}: {error}")
        return "unknown"
    detail = "recorded in the outbox (not delivered)" if result.recorded_only else f"accepted by {result.provider}"
    record("sent", detail, result=result, lead_id=item.lead_id)
    return "sent"
