"""Search: the Brave Web Search client, the shared rate limiter and candidate selection."""

from core.search.brave import BraveSearch, SearchClient, build_search_client
from core.search.candidates import (
    DEFAULT_BLOCKLIST,
    normalise_domain,
    parse_url_list,
    select_candidates,
)
from core.search.models import Candidate, RejectedLine, SearchResult, SearchUsage, UrlList
from core.search.ratelimit import (
    LocalTokenBucket,
    RateLimiter,
    RedisTokenBucket,
    build_rate_limiter,
)

__all__ = [
    "DEFAULT_BLOCKLIST",
    "BraveSearch",
    "Candidate",
    "LocalTokenBucket",
    "RateLimiter",
    "RedisTokenBucket",
    "RejectedLine",
    "SearchClient",
    "SearchResult",
    "SearchUsage",
    "UrlList",
    "build_rate_limiter",
    "build_search_client",
    "normalise_domain",
    "parse_url_list",
    "select_candidates",
]
