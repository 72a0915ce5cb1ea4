"""Domain values of crawling: configuration, the crawl log, fetched pages and a site's crawl."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config import Settings


@dataclass(frozen=True)
class CrawlConfig:
    """How the crawler behaves; ``from_settings`` reads the CRAWL_* settings."""

    user_agent: str = "LeadScout/1.0 (+https://github.com/leadscout/leadscout)"
    robots_token: str = "LeadScout"
    max_bytes: int = 2_000_000
    robots_max_bytes: int = 512_000
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    per_host_concurrency: int = 2
    per_host_delay: float = 0.5
    max_crawl_delay: float = 30.0
    global_concurrency: int = 32
    max_redirects: int = 5
    max_retries: int = 2
    max_retry_after: float = 30.0
    robots_ttl: float = 24 * 3600.0
    max_pages: int = 6
    use_sitemap: bool = True
    max_nesting: int = 1000  # a page is cut where it nests deeper (real pages stay under 100)

    @classmethod
    def from_settings(cls, settings: Settings) -> CrawlConfig:
        """The configuration the settings describe."""
        return cls(
            user_agent=f"{settings.crawl_user_agent} (+{settings.crawl_contact_url})",
            robots_token=settings.crawl_user_agent.split("/", 1)[0] or "LeadScout",
            max_bytes=settings.crawl_max_bytes,
            connect_timeout=settings.crawl_connect_timeout,
            total_timeout=settings.crawl_total_timeout,
            per_host_concurrency=settings.crawl_per_host_concurrency,
            per_host_delay=settings.crawl_per_host_delay,
            global_concurrency=settings.crawl_global_concurrency,
            max_pages=settings.crawl_max_pages,
        )


@dataclass(frozen=True)
class Validators:
    """What a previous fetch returned, for a conditional request on re-crawl."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class CrawlLogEntry:
    """One HTTP request made (or refused) by the crawler: the crawl log row."""

    url: str
    status: int | None
    bytes: int
    elapsed_ms: int
    robots: str  # allowed | disallowed | n/a (robots.txt itself, sitemaps)
    error: str = ""
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    fetched_at: float = 0.0  # unix time


@dataclass(frozen=True)
class FetchResult:
    """The outcome of fetching one URL, following redirects: the final response and its log."""

    url: str
    final_url: str
    status: int | None
    text: str | None = None
    body: bytes = b""
    text_utf8: bytes | None = None  # ``text`` in UTF-8 when the body was exactly that (the parser reads it as is)
    content_type: str = ""
    encoding: str = ""
    truncated: bool = False
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    error: str = ""
    note: str = ""  # why a usable page was cut, for the crawl log
    log: tuple[CrawlLogEntry, ...] = ()

    @property
    def ok(self) -> bool:
        """True when a usable body (or a 304 Not Modified) came back."""
        return not self.error and (self.text is not None or self.not_modified or bool(self.body))


@dataclass(frozen=True)
class FetchedPage:
    """A page of a site that was fetched successfully (or was unchanged since last time)."""

    url: str
    final_url: str
    kind: str
    status: int
    html: str | None
    encoding: str = ""
    truncated: bool = False
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    html_utf8: bytes | None = None  # ``html`` in UTF-8 when the body was exactly that (the parser reads it as is)


@dataclass(frozen=True)
class SiteCrawl:
    """Everything one site's crawl produced: the pages, the log of every request and any error."""

    start_url: str
    final_url: str
    domain: str
    pages: tuple[FetchedPage, ...] = ()
    log: tuple[CrawlLogEntry, ...] = ()
    error: str = ""
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (url, reason)

    @property
    def ok(self) -> bool:
        """True when at least the home page was fetched."""
        return bool(self.pages) and not self.error
