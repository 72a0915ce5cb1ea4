"""Background jobs: submit, run, report progress, cancel, retry — on RQ or in-process.

A job is a row in ``job`` (the UI polls it) plus a function ``fn(ctx, args)`` registered in
``kinds``. With ``REDIS_URL`` set, jobs go to RQ (queues crawl, llm, send, default) and run in
``rq worker``; otherwise a bounded thread pool in the UI process runs the same functions. Job
functions live in their area's ``jobs.py``, report progress through ``JobContext``, stop when it
says they are cancelled, and must be safe to run twice (a crashed worker's job runs again).

    kinds       the table of job kinds and their queues
    context     JobContext handed to a running job function
    execution   one attempt: the job row's state machine around the function
    runners     RQ or the embedded thread pool
    service     submit, cancel, retry
    queries     read views for the UI and the operator
    schedule    periodic jobs (housekeeping), claimed once per period across every process
"""

from core.background import kinds
from core.background.context import JobCancelled, JobContext
from core.background.execution import PERMANENT_ERRORS, describe_error, execute_job
from core.background.kinds import QUEUES, JobKind
from core.background.queries import JobView, get_job, get_job_or_raise, list_jobs, stale_jobs, view_of
from core.background.runners import EmbeddedRunner, RQRunner, Runner, get_runner, recover_interrupted_jobs
from core.background.service import cancel, retry, submit

__all__ = [
    "PERMANENT_ERRORS",
    "QUEUES",
    "EmbeddedRunner",
    "JobCancelled",
    "JobContext",
    "JobKind",
    "JobView",
    "RQRunner",
    "Runner",
    "cancel",
    "describe_error",
    "execute_job",
    "get_job",
    "get_job_or_raise",
    "get_runner",
    "kinds",
    "list_jobs",
    "recover_interrupted_jobs",
    "retry",
    "stale_jobs",
    "submit",
    "view_of",
]
