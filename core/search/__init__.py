"""Search: the Brave Web Search client and candidate selection (its rate limiter is ``core.ratelimit``).

The names below load on first use (PEP 562), so a process that needs only one module (the CSV
check workers use ``candidates``) does not import the Brave client, httpx and the settings with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOME = {
    "BraveSearch": "brave",
    "SearchClient": "brave",
    "build_search_client": "brave",
    "DEFAULT_BLOCKLIST": "candidates",
    "normalise_domain": "candidates",
    "parse_url_list": "candidates",
    "select_candidates": "candidates",
    "Candidate": "models",
    "RejectedLine": "models",
    "SearchResult": "models",
    "SearchUsage": "models",
    "UrlList": "models",
}
__all__ = [
    "DEFAULT_BLOCKLIST",
    "BraveSearch",
    "Candidate",
    "RejectedLine",
    "SearchClient",
    "SearchResult",
    "SearchUsage",
    "UrlList",
    "build_search_client",
    "normalise_domain",
    "parse_url_list",
    "select_candidates",
]

if TYPE_CHECKING:
    from core.search.brave import BraveSearch, SearchClient, build_search_client
    from core.search.candidates import DEFAULT_BLOCKLIST, normalise_domain, parse_url_list, select_candidates
    from core.search.models import Candidate, RejectedLine, SearchResult, SearchUsage, UrlList


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'core.search' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"core.search.{_HOME[name]}"), name)
    globals()[name] = value
    return value
