"""Storage for crawling: the crawl log and the pages kept for analysis. Never commits."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select

from core.crawl.models import CrawlLogEntry, FetchedPage
from core.db import UnitOfWork
from core.db.models import Page, PageFetch


def add_crawl_log(
    uow: UnitOfWork,
    *,
    workspace_id: int,
    entries: Iterable[CrawlLogEntry],
    run_id: int | None = None,
    lead_id: int | None = None,
) -> int:
    """Add one crawl-log row per request; returns how many rows were added."""
    rows = [
        PageFetch(
            workspace_id=workspace_id,
            lead_id=lead_id,
            run_id=run_id,
            url=entry.url[:2048],
            status_code=entry.status,
            bytes=entry.bytes,
            elapsed_ms=entry.elapsed_ms,
            robots=entry.robots[:16],
            error=entry.error,
            etag=(entry.etag or None) and entry.etag[:255],
            last_modified=(entry.last_modified or None) and entry.last_modified[:64],
            content_hash=entry.content_hash,
            fetched_at=datetime.fromtimestamp(entry.fetched_at, UTC) if entry.fetched_at else datetime.now(UTC),
        )
        for entry in entries
    ]
    uow.session.add_all(rows)
    return len(rows)


def save_pages(uow: UnitOfWork, *, workspace_id: int, lead_id: int, pages: Iterable[FetchedPage]) -> int:
    """Insert or refresh a lead's pages (unique on lead and URL; unchanged pages are left alone)."""
    stored = {p.url: p for p in uow.session.scalars(select(Page).where(Page.lead_id == lead_id))}
    changed = 0
    for page in pages:
        if page.not_modified or page.html is None or page.content_hash is None:
            continue
        row = stored.get(page.url[:2048])
        if row is not None and row.content_hash == page.content_hash:
            continue
        utf8 = page.html_utf8 if page.html_utf8 is not None else page.html.encode("utf-8")
        html_gz = gzip.compress(utf8, compresslevel=6)
        if row is None:
            row = Page(workspace_id=workspace_id, lead_id=lead_id, url=page.url[:2048])
            uow.session.add(row)
            stored[row.url] = row
        row.kind, row.html_gz, row.content_hash = page.kind, html_gz, page.content_hash
        row.fetched_at = datetime.now(UTC)
        changed += 1
    return changed
