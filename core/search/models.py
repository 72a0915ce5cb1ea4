"""Domain values of search: results, candidates and the outcome of parsing a URL list."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchResult:
    """One web result: where it came from (query, rank) and what the engine said about it."""

    query: str
    rank: int
    url: str
    title: str = ""
    snippet: str = ""


@dataclass(frozen=True)
class Candidate:
    """A company site to crawl: its registered domain, the URL to start from and its provenance."""

    domain: str
    url: str
    source: str  # "search" | "manual"
    query: str = ""
    rank: int = 0
    title: str = ""


@dataclass(frozen=True)
class RejectedLine:
    """A line of a pasted URL list that is not a usable URL, with the reason."""

    line_no: int
    text: str
    reason: str


@dataclass(frozen=True)
class UrlList:
    """A parsed URL list: the usable candidates and the lines given back with reasons."""

    candidates: tuple[Candidate, ...]
    rejected: tuple[RejectedLine, ...]


@dataclass(frozen=True)
class SearchUsage:
    """Searches made this month, and what Brave last said remains of the monthly quota."""

    month: str
    used: int
    remaining: int | None = None
    limit: int | None = None
