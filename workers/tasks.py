"""RQ entrypoint: every LeadScout job is ``run_job(job_id, target)`` on one of the queues."""

from __future__ import annotations

from core.jobs import execute_job


def run_job(job_id: int, target: str) -> None:
    """Run one attempt of job ``job_id``; RQ's Retry handles the next attempt on failure."""
    from rq import get_current_job

    current = get_current_job()
    retries_left = getattr(current, "retries_left", None) or 0
    execute_job(job_id, target=target, final_attempt=retries_left <= 0)
