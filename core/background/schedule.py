"""Periodic jobs: housekeeping and the scheduled sender, submitted once per period across every process.

Every process that runs jobs ticks: the UI process in the embedded default with a ``Ticker`` thread,
each ``rq worker`` from its main loop (a thread there could hold a lock at the moment RQ forks a
work horse, and the horse would deadlock on it). On each tick the process tries to move each
periodic job's ``periodic_slot`` row forward with a conditional UPDATE (or to create it); only the
process whose statement changed the row submits the job, so N processes still submit it once per period.

The lost-jobs sweep (``recovery.sweep``) is claimed the same way every third of ``JOB_LEASE_SECONDS``
but runs inline in the claiming worker: a job row every 20 seconds would only be noise.
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import IntegrityError

from core.background import kinds, recovery
from core.background.kinds import JobKind
from core.background.runners import Runner
from core.background.service import submit
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import PeriodicSlot, utcnow

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0


@dataclass(frozen=True)
class Periodic:
    """A job kind submitted every ``every``, with fixed arguments; ``needed`` ("module:function" returning a
    bool, imported when called) can say there is nothing to do, and then the period is not used up."""

    kind: JobKind
    every: timedelta
    args: dict[str, Any] = field(default_factory=dict)
    needed: str = ""


PERIODIC: tuple[Periodic, ...] = (
    Periodic(kinds.PURGE_SESSIONS, timedelta(hours=1)),
    Periodic(kinds.POLL_REPLIES, timedelta(minutes=2), needed="core.replies.jobs:mailbox_configured"),
    # a person's answers the rules classified, read by the LLM when one is configured
    Periodic(kinds.REFINE_REPLIES, timedelta(minutes=1), needed="core.replies.refine:any_to_refine"),
    Periodic(kinds.PURGE_TRASH, timedelta(hours=6)),
    # Sequence steps that are due (each re-checks replies, bounces and opt-outs) and steps to schedule after a send.
    Periodic(kinds.SEQUENCES_ADVANCE, timedelta(minutes=1), needed="core.sequences.advance:any_step_due"),
    # Queued messages that waited for the sending window or a new day's cap, or were queued again by hand.
    Periodic(kinds.SEND_DUE, timedelta(minutes=1), needed="core.outreach.timing:any_due"),
    # retries whose backoff has passed, and deliveries whose worker died (their claim ran out)
    Periodic(kinds.WEBHOOKS_DELIVER, timedelta(minutes=1), needed="core.webhooks.jobs:deliveries_due"),
)


def _is_needed(periodic: Periodic) -> bool:
    if not periodic.needed:
        return True
    module_name, _, function_name = periodic.needed.partition(":")
    return bool(getattr(importlib.import_module(module_name), function_name)())


def _claim(uow: UnitOfWork, periodic: Periodic, now: datetime) -> bool:
    """Move the slot to the next period if it is due (or create it); True when this call did."""
    name = periodic.kind.name
    moved = cast(
        CursorResult[Any],
        uow.session.execute(
            update(PeriodicSlot)
            .where(PeriodicSlot.name == name, PeriodicSlot.next_due_at <= now)
            .values(next_due_at=now + periodic.every)
        ),
    )
    if moved.rowcount:
        uow.commit()
        return True
    if uow.session.get(PeriodicSlot, name) is not None:
        return False
    uow.session.add(PeriodicSlot(name=name, next_due_at=now + periodic.every))
    try:
        uow.commit()
    except IntegrityError:  # another process created it first: the job is theirs
        return False
    return True


def submit_due(
    *, now: datetime | None = None, periodic: tuple[Periodic, ...] = PERIODIC, runner: Runner | None = None
) -> list[int]:
    """Submit every periodic job whose period has come and that no other process claimed; the job ids."""
    now = now or utcnow()
    submitted = []
    for item in periodic:
        if not _is_needed(item):
            continue
        with UnitOfWork() as uow:
            claimed = _claim(uow, item, now)
        if claimed:
            submitted.append(submit(kind=item.kind, args=dict(item.args), runner=runner))
    return submitted


def sweep_interval() -> float:
    """How often the lost-jobs sweep runs: a third of the lease (at least every second)."""
    return max(1.0, get_settings().job_lease_seconds / 3)


def sweep_due(*, now: datetime | None = None) -> dict[str, list[int]] | None:
    """Run the lost-jobs sweep here if its period has come and no other process claimed it."""
    now = now or utcnow()
    item = Periodic(kinds.SWEEP_LOST_JOBS, timedelta(seconds=sweep_interval()))
    with UnitOfWork() as uow:
        claimed = _claim(uow, item, now)
    return recovery.sweep() if claimed else None


def sweep_safely() -> None:
    """``sweep_due``; a failure is logged, and the next call tries again."""
    try:
        sweep_due()
    except Exception:  # noqa: BLE001 - a database or Redis hiccup must not stop the worker's loop
        log.exception("sweeping lost jobs failed")


def tick_safely(*, runner: Runner | None = None) -> None:
    """Submit due periodic jobs; a failure is logged, and the next tick tries again."""
    try:
        submit_due(runner=runner)
    except Exception:  # noqa: BLE001 - a database hiccup must not stop the caller's loop
        log.exception("submitting periodic jobs failed")


class Ticker:
    """A daemon thread that submits due periodic jobs every ``TICK_SECONDS`` until stopped."""

    def __init__(self, *, interval: float = TICK_SECONDS, runner: Runner | None = None) -> None:
        self._interval = interval
        self._runner = runner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="periodic-jobs", daemon=True)

    def start(self) -> Ticker:
        """Start ticking (the first tick comes right away)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop ticking and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            tick_safely(runner=self._runner)
            self._stop.wait(self._interval)


_ticker: Ticker | None = None
_ticker_lock = threading.Lock()


def start_in_ui_process() -> None:
    """In the embedded default the UI process runs the jobs, so it ticks (once per process); with RQ the workers do."""
    global _ticker
    if get_settings().redis_enabled:
        return
    with _ticker_lock:
        if _ticker is None:
            _ticker = Ticker().start()


def stop_in_ui_process() -> None:
    """Stop this process's ticker if it runs (a clean shutdown; tests, where importing server.py starts one)."""
    global _ticker
    with _ticker_lock:
        if _ticker is not None:
            _ticker.stop()
            _ticker = None
