"""What the UI shows about a run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RunView:
    """A run's progress: hits found, sites queued/crawled/failed, leads created and updated."""

    id: int
    campaign_id: int
    status: str
    created_at: datetime
    finished_at: datetime | None
    hits: int
    sites_total: int
    sites_queued: int
    sites_crawled: int
    sites_failed: int
    sites_skipped: int
    leads_created: int
    leads_updated: int
    active_jobs: int
    failed_jobs: int
    errors: tuple[str, ...]
    sites_cancelled: int = 0
    leads_scored: int = 0  # leads of the run's stored sites that have a score
    retrying: tuple[str, ...] = ()  # a line per job of the run waiting for its next attempt

    @property
    def fraction(self) -> float | None:
        """Share of sites done, or None before any site is known."""
        if not self.sites_total:
            return None
        return (self.sites_total - self.sites_queued) / self.sites_total

    @property
    def is_active(self) -> bool:
        """True while jobs of this run are still queued or running."""
        return self.status in ("queued", "searching", "crawling")


@dataclass(frozen=True)
class StartedRun:
    """The result of starting a run: its id and any pasted lines that were refused."""

    run_id: int
    rejected: tuple[tuple[int, str, str], ...] = ()  # (line number, text, reason)
