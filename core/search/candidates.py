"""Turn search results and pasted URL lists into candidate company domains."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

from core.errors import InvalidInput
from core.search.models import Candidate, RejectedLine, SearchResult, UrlList

# Sites that are never a company's own website. A bare name ("amazon") matches every suffix.
DEFAULT_BLOCKLIST: frozenset[str] = frozenset(
    {
        # social networks and video
        "facebook.com",
        "instagram.com",
        "linkedin.com",
        "twitter.com",
        "x.com",
        "tiktok.com",
        "youtube.com",
        "pinterest.com",
        "reddit.com",
        "tumblr.com",
        "vimeo.com",
        "threads.net",
        "xing.com",
        "vk.com",
        "medium.com",
        "quora.com",
        "t.me",
        "whatsapp.com",
        # marketplaces and app stores
        "amazon",
        "ebay",
        "etsy.com",
        "alibaba.com",
        "aliexpress.com",
        "walmart.com",
        "rakuten.com",
        "mercadolibre.com",
        "apps.apple.com",
        "play.google.com",
        "g2.com",
        "capterra.com",
        "trustpilot.com",
        "producthunt.com",
        # directories and maps
        "yelp",
        "yellowpages.com",
        "gelbeseiten.de",
        "dasoertliche.de",
        "pagesjaunes.fr",
        "paginasamarillas.es",
        "tripadvisor",
        "foursquare.com",
        "crunchbase.com",
        "zoominfo.com",
        "dnb.com",
        "bbb.org",
        "kompass.com",
        "europages",
        "hotfrog",
        "cylex",
        "google.com",
        "maps.google.com",
        "bing.com",
        "yahoo.com",
        "duckduckgo.com",
        "northdata.com",
        "opencorporates.com",
        "companieshouse.gov.uk",
        "clutch.co",
        "goodfirms.co",
        # news and publishing
        "nytimes.com",
        "bbc.co.uk",
        "bbc.com",
        "cnn.com",
        "reuters.com",
        "bloomberg.com",
        "forbes.com",
        "theguardian.com",
        "techcrunch.com",
        "businessinsider.com",
        "spiegel.de",
        "faz.net",
        "zeit.de",
        "lemonde.fr",
        "elpais.com",
        "wsj.com",
        "ft.com",
        "news.google.com",
        "substack.com",
        "wordpress.com",
        "blogspot.com",
        # wikis and reference
        "wikipedia.org",
        "wikimedia.org",
        "wikidata.org",
        "fandom.com",
        "wikihow.com",
        "github.com",
        "stackoverflow.com",
        # job boards
        "indeed",
        "glassdoor",
        "monster.com",
        "stepstone",
        "ziprecruiter.com",
        "jobs.ch",
        "welcometothejungle.com",
        "infojobs.net",
        "kununu.com",
        "workable.com",
        "lever.co",
        "greenhouse.io",
    }
)


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # The bundled public-suffix snapshot only: never reach the network, never write a cache.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


# An http(s) address whose host is plain ASCII labels, with nothing (no user, port or bracket) before the
# path: its host is the matched name. Anything else goes through urlsplit; a property test holds the two
# to the same answer.
_PLAIN_URL = re.compile(r"(?:https?://)?([a-z0-9-]+(?:\.[a-z0-9-]+)*\.?)(?:[/?#]|\Z)", re.IGNORECASE | re.ASCII)


def _host_of(url: str) -> str:
    text = url.strip()
    if (plain := _PLAIN_URL.match(text)) is not None and (plain.start(1) > 0 or "://" not in text):
        return plain.group(1).rstrip(".").lower()
    return _host_by_urlsplit(text)


def _host_by_urlsplit(text: str) -> str:
    if "://" not in text:
        text = "http://" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def normalise_domain(url: str) -> str | None:
    """The registered domain of ``url`` ("https://www.shop.acme.co.uk/x" -> "acme.co.uk"), or None."""
    host = _host_of(url)
    if not host or "." not in host:
        return None
    if not host[-1].isalpha():  # a name ending in a letter is never an IP address (this skips a costly parse)
        try:
            ipaddress.ip_address(host.strip("[]"))
            return None  # a bare IP address is not a company domain
        except ValueError:
            pass
    if host.isascii():  # what the idna codec checks of an ASCII name, without the codec
        if any(not 0 < len(label) < 64 for label in host.split(".")):
            return None
    else:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    parts = _extractor()(host)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    # A suffix the list does not know (".test", ".internal"): keep the last two labels.
    return ".".join(host.split(".")[-2:])


def parse_blocklist(text: str) -> frozenset[str]:
    """Parse a comma- or newline-separated blocklist setting into lower-case entries."""
    return frozenset(
        part.strip().lower().removeprefix("www.") for part in text.replace("\n", ",").split(",") if part.strip()
    )


def is_blocked(url: str, domain: str, blocklist: Collection[str]) -> bool:
    """True when the URL's host or registered domain is on the blocklist."""
    host = _host_of(url)
    label = domain.split(".", 1)[0]
    if domain in blocklist or label in blocklist:
        return True
    # Entries like "apps.apple.com" block that host and its subdomains only.
    return any(host == entry or host.endswith("." + entry) for entry in blocklist if "." in entry)


def select_candidates(
    results: Iterable[SearchResult],
    *,
    known_domains: Collection[str] = frozenset(),
    blocklist: Collection[str] = DEFAULT_BLOCKLIST,
) -> list[Candidate]:
    """One candidate per new, unblocked registered domain, in result order (best rank first)."""
    seen: set[str] = set(known_domains)
    chosen: list[Candidate] = []
    for result in results:
        domain = normalise_domain(result.url)
        if domain is None or domain in seen or is_blocked(result.url, domain, blocklist):
            continue
        seen.add(domain)
        chosen.append(
            Candidate(
                domain=domain,
                url=_site_root(result.url),
                source="search",
                query=result.query,
                rank=result.rank,
                title=result.title,
            )
        )
    return chosen


def _site_root(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}/"


def _parse_line(text: str) -> str:
    url = text.strip()
    if any(ch.isspace() for ch in url):
        raise InvalidInput("contains spaces; put one URL per line")
    if "\\" in url:
        raise InvalidInput("contains a backslash; not a valid URL")
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(f"scheme {parts.scheme!r} is not http or https")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("URLs with a user name or password are not accepted")
    host = (parts.hostname or "").rstrip(".")
    if not host or "." not in host or host.startswith("."):
        raise InvalidInput("has no host name with a dot (like example.com)")
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path or '/'}"


def parse_url_list(
    text: str,
    *,
    known_domains: Collection[str] = frozenset(),
    blocklist: Collection[str] = frozenset(),
) -> UrlList:
    """Parse pasted URLs (one per line; blank and # lines ignored); bad lines come back with reasons."""
    candidates: list[Candidate] = []
    rejected: list[RejectedLine] = []
    seen: set[str] = set(known_domains)
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().strip(",;")
        if not line or line.startswith("#"):
            continue
        try:
            url = _parse_line(line)
            domain = normalise_domain(url)
            if domain is None:
                raise InvalidInput("is an IP address or has no registered domain")
            if is_blocked(url, domain, blocklist):
                raise InvalidInput(f"{domain} is on the blocklist (not a company website)")
        except InvalidInput as error:
            rejected.append(RejectedLine(line_no=line_no, text=raw, reason=str(error)))
            continue
        if domain in seen:
            continue
        seen.add(domain)
        candidates.append(Candidate(domain=domain, url=url, source="manual"))
    return UrlList(candidates=tuple(candidates), rejected=tuple(rejected))
