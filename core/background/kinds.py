"""Every kind of background job: its name, the function that runs it and the queue it goes to.

The table is here, not beside the functions, so any process (an RQ work horse included) can
submit any kind without importing the module that runs it. Job functions live in their area's
``jobs.py``; a test resolves every target below.
"""

from __future__ import annotations

from dataclasses import dataclass

QUEUES = ("crawl", "llm", "send", "default")


@dataclass(frozen=True)
class JobKind:
    """A registered kind of job: where its function lives and which queue runs it."""

    name: str
    target: str  # "package.module:function", imported by whichever process runs it
    queue: str = "default"

    def __post_init__(self) -> None:
        if self.queue not in QUEUES:
            raise ValueError(f"unknown queue {self.queue!r}")


SELFTEST = JobKind("system.selftest", "core.monitoring.jobs:selftest")
PURGE_SESSIONS = JobKind("auth.purge_sessions", "core.auth.jobs:purge_sessions")
PURGE_TRASH = JobKind("leads.purge_trash", "core.leads.trash:purge_trash_job")
EMAIL_INVITATION = JobKind("auth.email_invitation", "core.auth.jobs:email_invitation_job", "send")
SWEEP_LOST_JOBS = JobKind("background.sweep", "core.background.recovery:sweep_job")
RUN_SEARCH = JobKind("runs.search", "core.runs.jobs:search_job")
RUN_CRAWL_BATCH = JobKind("runs.crawl_batch", "core.runs.jobs:crawl_batch_job", "crawl")
RUN_SUMMARIZE = JobKind("runs.summarize", "core.runs.jobs:summarize_job", "llm")
SCORE_LEADS = JobKind("scoring.score_leads", "core.scoring.jobs:score_leads_job", "llm")
RESCORE_CAMPAIGN = JobKind("scoring.rescore_campaign", "core.scoring.jobs:rescore_campaign_job", "llm")
ANALYSE_SITE = JobKind("analyses.site", "core.runs.analyses:analyse_site_job", "crawl")
IMPORT_CSV = JobKind("leads.import_csv", "core.leads.jobs:import_csv_job")
SEND = JobKind("outreach.send", "core.outreach.jobs:send_job", "send")
SEND_DUE = JobKind("outreach.send_due", "core.outreach.jobs:send_due_job", "send")
DRAFT = JobKind("outreach.draft", "core.outreach.jobs:draft_job", "llm")
POLL_REPLIES = JobKind("replies.poll", "core.replies.jobs:poll_replies_job")
REFINE_REPLIES = JobKind("replies.refine", "core.replies.jobs:refine_replies_job", "llm")
WEBHOOKS_DELIVER = JobKind("webhooks.deliver", "core.webhooks.jobs:deliver_job", "send")
SEQUENCES_ADVANCE = JobKind("sequences.advance", "core.sequences.jobs:advance_job", "send")

KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        SELFTEST,
        PURGE_SESSIONS,
        PURGE_TRASH,
        EMAIL_INVITATION,
        SWEEP_LOST_JOBS,
        RUN_SEARCH,
        RUN_CRAWL_BATCH,
        RUN_SUMMARIZE,
        SCORE_LEADS,
        RESCORE_CAMPAIGN,
        ANALYSE_SITE,
        IMPORT_CSV,
        SEND,
        SEND_DUE,
        DRAFT,
        POLL_REPLIES,
        REFINE_REPLIES,
        WEBHOOKS_DELIVER,
        SEQUENCES_ADVANCE,
    )
}
