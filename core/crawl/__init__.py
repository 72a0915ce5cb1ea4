"""Crawling: the SSRF-safe polite fetcher, page selection and the crawl log."""

from core.crawl.addresses import AddressPolicy, Resolver, SystemResolver, check_url, is_public_address
from core.crawl.fetcher import Fetcher
from core.crawl.models import CrawlConfig, CrawlLogEntry, FetchedPage, FetchResult, SiteCrawl, Validators
from core.crawl.site import build_fetcher, crawl_site, crawl_site_async, crawl_sites, crawl_sites_async

__all__ = [
    "AddressPolicy",
    "CrawlConfig",
    "CrawlLogEntry",
    "FetchResult",
    "FetchedPage",
    "Fetcher",
    "Resolver",
    "SiteCrawl",
    "SystemResolver",
    "Validators",
    "build_fetcher",
    "check_url",
    "crawl_site",
    "crawl_site_async",
    "crawl_sites",
    "crawl_sites_async",
    "is_public_address",
]
