"""The company's own social profiles — not share buttons, single posts or the platforms' own pages."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from ahocorasick_rs import AhoCorasick

from core.extract.models import Fact
from core.extract.page import Page

# network -> (host suffixes, profile path pattern, path prefixes that are never a company profile)
NETWORKS: dict[str, tuple[tuple[str, ...], re.Pattern[str], tuple[str, ...]]] = {
    "linkedin": (
        ("linkedin.com",),
        re.compile(r"^/(company|school|showcase)/[^/?#]+/?$", re.I),
        ("/sharing", "/shareArticle", "/share", "/feed", "/posts", "/pulse", "/in/"),
    ),
    "facebook": (
        ("facebook.com", "fb.com", "fb.me"),
        re.compile(
            r"^/(?!sharer|share|dialog|plugins|tr|login|groups/?$|events|watch|photo|permalink|story\.php|hashtag|help|policies|privacy|pages/create)([A-Za-z0-9.\-_]{2,}|pages/[^/]+/\d+|profile\.php)/?$",
            re.I,
        ),
        ("/sharer", "/share", "/dialog", "/plugins", "/tr"),
    ),
    "instagram": (
        ("instagram.com",),
        re.compile(r"^/(?!p/|reel/|reels/|explore/|accounts/|stories/|direct/)[A-Za-z0-9._]{2,30}/?$", re.I),
        ("/p/", "/reel/", "/explore/"),
    ),
    "x": (
        ("twitter.com", "x.com"),
        re.compile(r"^/(?!intent|share|home|search|hashtag|i/|login|signup|privacy|tos)[A-Za-z0-9_]{1,15}/?$", re.I),
        ("/intent", "/share", "/home"),
    ),
    "youtube": (
        ("youtube.com",),
        re.compile(r"^/(@[A-Za-z0-9._-]+|channel/[A-Za-z0-9_-]+|c/[^/]+|user/[^/]+)/?$", re.I),
        ("/watch", "/embed", "/shorts", "/playlist", "/results"),
    ),
    "tiktok": (
        ("tiktok.com",),
        re.compile(r"^/@[A-Za-z0-9._]{2,24}/?$", re.I),
        ("/tag/", "/music/", "/share"),
    ),
}
PLATFORM_ACCOUNTS = {
    "facebook",
    "instagram",
    "twitter",
    "linkedin",
    "youtube",
    "tiktok",
    "x",
    "wix",
    "wordpress",
    "shopify",
    "squarespace",
}


_HOST_WORDS = tuple(h for hosts, _, _ in NETWORKS.values() for h in hosts)
_HOST_WORD = re.compile("|".join(re.escape(h) for h in _HOST_WORDS))  # one search instead of one `in` per host
_HOST_WORDS_AUTOMATON = AhoCorasick(list(_HOST_WORDS))  # the same, over all the links of a page at once


def canonical_profile(url: str) -> tuple[str, str] | None:
    """(network, canonical URL) when ``url`` is a company profile on a known network, else None."""
    lowered = url.lower()
    if not _HOST_WORD.search(lowered):
        return None  # no network's host name in it: most links of a page
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    for prefix in ("www.", "m.", "mobile.", "de.", "fr.", "es.", "uk.", "business."):
        host = host.removeprefix(prefix)
    path = parts.path or "/"
    for network, (hosts, pattern, never) in NETWORKS.items():
        if not any(host == h or host.endswith("." + h) for h in hosts):
            continue
        if any(path.lower().startswith(p.lower()) for p in never) or parts.query.lower().startswith(
            ("u=", "url=", "text=", "status=")
        ):
            return None
        if not pattern.match(path):
            return None
        handle = path.strip("/").split("/")[-1].lstrip("@").lower()
        if handle in PLATFORM_ACCOUNTS:
            return None
        canonical_host = {"x": "x.com", "facebook": "www.facebook.com"}.get(network, f"www.{hosts[0]}")
        return network, urlunsplit(("https", canonical_host, path.rstrip("/"), "", ""))
    return None


def extract_socials(page: Page) -> list[Fact]:
    """Social profile links on the page (and in JSON-LD ``sameAs``), one per network."""
    facts: dict[str, Fact] = {}
    for link in page.links_containing(_HOST_WORDS_AUTOMATON):  # canonical_profile needs one of the host names
        if "share" in link.hint:
            continue
        found = canonical_profile(link.href)
        if found and found[0] not in facts:
            network, url = found
            snippet = page.snippet(link.text) if link.text else ""
            facts[network] = Fact(
                f"social:{network}", url, page.url, (snippet or page.source_snippet(urlsplit(link.href).path))[:240]
            )
    for obj in page.json_ld:
        same_as = obj.get("sameAs") or []
        for url in same_as if isinstance(same_as, list) else [same_as]:
            found = canonical_profile(str(url))
            if found and found[0] not in facts:
                facts[found[0]] = Fact(f"social:{found[0]}", found[1], page.url, page.source_snippet(str(url)))
    return list(facts.values())
