"""RQ entrypoint: every LeadScout job is ``run_job(job_id, target)`` on one of the queues.

Importing this module configures JSON logging (and Sentry) for the worker process; start
workers with ``--worker-class workers.tasks.Worker`` so RQ's own lines are JSON from the start.
"""

from __future__ import annotations

import time
from typing import Any

from rq.worker import Worker as RQWorker

from core.background import execute_job
from core.background.schedule import TICK_SECONDS, tick_safely
from core.leads.bulk import allow_cycle_collector_pauses
from core.logs import configure_logging

configure_logging("worker")
# A work horse runs one job at a time: bulk imports and exports may pause the cycle collector here.
allow_cycle_collector_pauses()


class Worker(RQWorker):
    """RQ's worker, imported from here so logging is configured before it starts; it submits periodic jobs too.

    Ticks run in the worker's main loop, on its heartbeat, never in a thread of their own: RQ forks a
    work horse per job, and a thread holding a lock at that moment would leave the horse deadlocked.
    """

    _last_tick = float("-inf")

    @property
    def dequeue_timeout(self) -> int:
        """Wake from an idle wait at least once per tick."""
        return max(1, min(super().dequeue_timeout, int(TICK_SECONDS)))

    def heartbeat(self, *args: Any, **kwargs: Any) -> None:
        """RQ's heartbeat, plus submitting the periodic jobs that are due (at most once per tick)."""
        super().heartbeat(*args, **kwargs)
        if time.monotonic() - self._last_tick >= TICK_SECONDS:
            self._last_tick = time.monotonic()
            tick_safely()


def run_job(job_id: int, target: str) -> None:
    """Run one attempt of job ``job_id``; RQ's Retry handles the next attempt on failure."""
    from rq import get_current_job

    current = get_current_job()
    retries_left = getattr(current, "retries_left", None) or 0
    execute_job(job_id, target=target, final_attempt=retries_left <= 0)
