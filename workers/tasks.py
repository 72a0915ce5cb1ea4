"""RQ entrypoint: every LeadScout job is ``run_job(job_id, target)`` on one of the queues.

Importing this module configures JSON logging (and Sentry) for the worker process; start
workers with ``--worker-class workers.tasks.Worker`` so RQ's own lines are JSON from the start.
"""

from __future__ import annotations

import os
import time
from typing import Any

from rq.worker import Worker as RQWorker

from core.background import execute_job
from core.background.execution import RetryPolicy, RetryScheduled
from core.background.recovery import schedule_attempt, worker_died
from core.background.schedule import TICK_SECONDS, sweep_interval, sweep_safely, tick_safely
from core.extract.fingerprints import allow_freezing_long_lived_objects
from core.leads.bulk import allow_cycle_collector_pauses
from core.logs import configure_logging

configure_logging("worker")
# A work horse runs one job at a time: bulk imports and exports may pause the cycle collector here.
allow_cycle_collector_pauses()
allow_freezing_long_lived_objects()  # what extraction loads lives as long as the work horse


class Worker(RQWorker):
    """RQ's worker, imported from here so logging is configured before it starts; it submits periodic
    jobs, sweeps for lost jobs (every third of ``JOB_LEASE_SECONDS``) and retries a job whose work
    horse was killed.

    Ticks run in the worker's main loop, on its heartbeat, never in a thread of their own: RQ forks a
    work horse per job, and a thread holding a lock at that moment would leave the horse deadlocked.
    """

    _last_tick = float("-inf")
    _last_sweep = float("-inf")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # heartbeat() runs this often while a horse works, so a busy worker sweeps too
        self.job_monitoring_interval = max(1, min(self.job_monitoring_interval, int(sweep_interval())))

    @property
    def dequeue_timeout(self) -> int:
        """Wake from an idle wait at least once per sweep."""
        return max(1, min(super().dequeue_timeout, int(TICK_SECONDS), int(sweep_interval())))

    def heartbeat(self, *args: Any, **kwargs: Any) -> None:
        """RQ's heartbeat, plus the lost-jobs sweep and the periodic jobs that are due."""
        super().heartbeat(*args, **kwargs)
        if time.monotonic() - self._last_sweep >= sweep_interval():
            self._last_sweep = time.monotonic()
            sweep_safely()
        if time.monotonic() - self._last_tick >= TICK_SECONDS:
            self._last_tick = time.monotonic()
            tick_safely()

    def handle_work_horse_killed(self, job: Any, retpid: int, ret_val: int, rusage: Any) -> None:
        """The horse died mid-attempt (SIGKILL, out of memory): plan the job's next attempt now."""
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        if job.func_name != "workers.tasks.run_job" or not job.args:
            return
        if ret_val and os.WIFSIGNALED(ret_val):
            reason = f"worker died (signal {os.WTERMSIG(ret_val)})"
        else:
            reason = f"worker died (exit status {os.waitstatus_to_exitcode(ret_val) if ret_val else ret_val})"
        try:
            policy = RetryPolicy.from_args(job.args[3] if len(job.args) > 3 else None)
            worker_died(int(job.args[0]), reason, policy)
        except Exception:  # noqa: BLE001 - the sweep retries the job when its lease lapses
            self.log.exception("planning the retry of job %s failed", job.args[0])


def run_job(job_id: int, target: str, attempt: int | None = None, policy: dict[str, Any] | None = None) -> None:
    """Run one attempt of job ``job_id``; a failed attempt with attempts left is scheduled again here."""
    try:
        execute_job(job_id, target=target, attempt=attempt, policy=RetryPolicy.from_args(policy))
    except RetryScheduled as plan:
        schedule_attempt(plan)
