"""What a running job function is handed: its ids, progress reporting and the cancel flag."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from core.db import UnitOfWork
from core.db.models import Job, utcnow

JobFunction = Callable[["JobContext", dict[str, Any]], dict[str, Any] | None]


class JobCancelled(Exception):
    """Raised inside a job function when the user asked to cancel it."""


class JobSuperseded(JobCancelled):
    """Raised inside a job function whose attempt lost its job: its lease lapsed and a retry took over.

    A subclass of ``JobCancelled`` so a job function cleans up the same way; the row is left to the retry.
    """


class JobContext:
    """Handed to a job function: its arguments, progress reporting and the cancel flag."""

    def __init__(
        self,
        job_id: int,
        workspace_id: int | None,
        *,
        uow_factory: Callable[[], UnitOfWork],
        final_attempt: bool = True,
    ) -> None:
        self.job_id = job_id
        self.workspace_id = workspace_id
        # False while the runner will retry a failure; a job may clean up when no attempt is left.
        self.final_attempt = final_attempt
        self._uow_factory = uow_factory
        self._last_write = 0.0
        self._last_cancel_check = 0.0
        self._cancelled = False
        # True once this attempt's lease was found taken over (set by the runner): the attempt stops.
        self.superseded: Callable[[], bool] = lambda: False

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record progress (throttled to a few writes a second) and stop if cancelled."""
        now = time.monotonic()
        final = total is not None and done >= total
        if final or now - self._last_write >= 0.25:
            self._last_write = now
            values: dict[str, Any] = {"progress_done": done, "heartbeat_at": utcnow()}
            if total is not None:
                values["progress_total"] = total
            if message:
                values["message"] = message[:500]
            with self._uow_factory() as uow:
                uow.session.execute(update(Job).where(Job.id == self.job_id).values(**values))
                uow.commit()
        self.check_cancelled()

    def is_cancelled(self) -> bool:
        """True once someone asked to cancel this job (read at most every half second)."""
        now = time.monotonic()
        if not self._cancelled and now - self._last_cancel_check >= 0.5:
            self._last_cancel_check = now
            with self._uow_factory() as uow:
                self._cancelled = bool(uow.session.scalar(select(Job.cancel_requested).where(Job.id == self.job_id)))
        return self._cancelled

    def check_cancelled(self) -> None:
        """Raise ``JobCancelled`` when the job was cancelled (``JobSuperseded`` when a retry took it over)."""
        if self.superseded():
            raise JobSuperseded()
        if self.is_cancelled():
            raise JobCancelled()

    def sleep(self, seconds: float) -> None:
        """Wait, waking early (with ``JobCancelled``) when the job is cancelled."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.check_cancelled()
            time.sleep(min(0.2, left))
