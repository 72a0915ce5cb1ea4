"""Storage for search: hits of a run and the domains a workspace already has. Never commits."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from core.db import UnitOfWork
from core.db.models import Lead, LeadTombstone, SearchHit
from core.search.candidates import normalise_domain
from core.search.models import SearchResult


def add_search_hits(uow: UnitOfWork, *, workspace_id: int, run_id: int, results: Iterable[SearchResult]) -> int:
    """Add the hits of a run that are not stored yet (safe to repeat); returns how many were new."""
    wanted = [r for r in results if r.url]
    if not wanted:
        return 0
    existing: set[tuple[str, str]] = set(
        uow.session.execute(select(SearchHit.query, SearchHit.url).where(SearchHit.run_id == run_id))
    )
    added = 0
    for result in wanted:
        key = (result.query[:500], result.url[:2048])
        if key in existing:
            continue
        existing.add(key)
        uow.session.add(
            SearchHit(
                workspace_id=workspace_id,
                run_id=run_id,
                query=key[0],
                rank=result.rank,
                url=key[1],
                domain=normalise_domain(result.url) or "",
                title=result.title,
                snippet=result.snippet,
            )
        )
        added += 1
    return added


def known_domains(uow: UnitOfWork, *, workspace_id: int) -> set[str]:
    """Domains the workspace already has as leads or has deleted (tombstones)."""
    leads = uow.session.scalars(select(Lead.domain).where(Lead.workspace_id == workspace_id))
    gone = uow.session.scalars(select(LeadTombstone.domain).where(LeadTombstone.workspace_id == workspace_id))
    return set(leads) | set(gone)
