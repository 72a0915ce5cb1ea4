"""Technologies on a page, from the Wappalyzer-format fingerprint set (see core.extract.fingerprints).

Signals, all read from the parsed tree rather than the whole HTML: script ``src`` and ``<link href>``
(stylesheets, preloads, icons; not dns-prefetch/preconnect), inline scripts (also consent-gated
``text/plain`` and JSON configuration ones), ``<meta>`` (generator and the others the set names),
``<iframe src>`` (for the set's few whole-HTML patterns, e.g. the GTM ``<noscript>`` iframe), the page
URL, cookies and response headers. Run it before anything reads ``Page.text``: that removes the scripts
from the tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core.extract.fingerprints import (
    LINK_RELS_IGNORED,
    MAX_VALUE,
    Compiled,
    Pattern,
    candidates,
    fingerprints,
    version_of,
)
from core.extract.models import Fact
from core.extract.page import Page

_SHARE_QUERY = re.compile(r"\?(?:text|u|url|status|body)=")
MAX_INLINE_TOTAL = 2_000_000  # characters of inline script matched per page
SNIPPET = 40
# Wappalyzer's address patterns (scriptSrc) are also matched on stylesheets, preloads and icons; the evidence
# then names the signal it came from
_MATCHED_AS = {"linkHref": "scriptSrc"}


@dataclass(frozen=True)
class Detection:
    """A technology found on a page: its categories, the version where declared, and the evidence."""

    name: str
    categories: tuple[str, ...]
    version: str
    url: str
    signal: str
    evidence: str

    @property
    def category(self) -> str:
        return self.categories[0] if self.categories else ""

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "category": self.category,
            "categories": list(self.categories),
            "version": self.version,
            "evidence": {"url": self.url, "signal": self.signal, "snippet": self.evidence},
        }


def _strings(page: Page) -> Iterator[tuple[str, str, str]]:
    """(signal, key, value) of every string of the page that fingerprints are matched on."""
    yield "url", "", page.url
    scripts, links, iframes = page.elements("script"), page.elements("link"), page.elements("iframe")
    noscripts, metas, images = page.elements("noscript"), page.elements("meta"), page.elements("img")
    inline_budget = MAX_INLINE_TOTAL
    for node in scripts:
        attributes = node.attributes
        src = attributes.get("src")
        if src:
            yield "scriptSrc", "", src[:2000]
            continue
        kind = (attributes.get("type") or "").lower()
        if "ld+json" in kind:
            continue  # consent-gated (text/plain, text/template) and JSON configuration scripts still name what they load
        if inline_budget <= 0:
            continue
        text = node.text(deep=True) or ""
        if text:
            text = text[: min(MAX_VALUE, inline_budget)]
            inline_budget -= len(text)
            yield "scripts", "", text
    for node in links:
        attributes = node.attributes
        href = attributes.get("href")
        if href is None:
            continue
        rel = (attributes.get("rel") or "").lower().split()
        if not any(r in LINK_RELS_IGNORED for r in rel):
            yield "linkHref", "", (href or "")[:2000]  # matched with the scriptSrc patterns, shown as what it is
    for node in iframes:
        src = node.attributes.get("src")
        if src is not None:
            yield "html", "", (src or "")[:2000]
    for node in noscripts:  # its content is text to the parser: the GTM iframe is in it
        yield "html", "", (node.text(deep=True) or "")[:2000]
    for node in metas:
        attributes = node.attributes
        name = (attributes.get("name") or attributes.get("property") or attributes.get("http-equiv") or "").lower()
        if name:
            yield "meta", name, attributes.get("content") or attributes.get("value") or ""
    # for the dom rules that name an address: every <img src> and <a href>, one per line
    sources = [src[:2000] for node in images if (src := node.attributes.get("src"))]
    if sources:
        yield "images", "", "\n".join(sources)
    # not share links ("web.whatsapp.com/send?text=…" is a share button, not WhatsApp Business Chat)
    hrefs = [link.href[:2000] for link in page.links if "?" not in link.href or not _SHARE_QUERY.search(link.href)]
    if hrefs:
        yield "links", "", "\n".join(hrefs)
    for name, value in page.headers.items():
        if name == "set-cookie":
            for cookie in value.split(","):
                key, _, rest = cookie.partition("=")
                yield "cookies", key.strip().lower(), rest.split(";", 1)[0].strip()
        else:
            yield "headers", name, value


def _evidence(value: str, start: int, end: int) -> str:
    return value[max(0, start - SNIPPET) : end + SNIPPET].replace("\n", " ").strip()


def _keyed_evidence(page: Page, signal: str, key: str, value: str) -> str:
    """The markup around a meta content; a header or cookie as ``name: value``."""
    if signal != "meta":
        line = f"Set-Cookie: {key}={value}" if signal == "cookies" else f"{key}: {value}"
        return line[:200]
    index = page.markup.find(value[:80]) if value else -1
    if index < 0:
        return value[:200]
    return page.markup[max(0, index - SNIPPET) : index + min(len(value), 120) + 10]


def _keyed(compiled: Compiled, signal: str, key: str, value: str) -> list[Pattern]:
    """The patterns of a meta name, header or cookie that can match ``value``."""
    index = compiled.keyed_index.get(signal, {}).get(key)
    if index is not None:
        return index.candidates(value)
    table = compiled.keyed.get(signal, {})
    found = list(table.get(key, ()))
    if signal == "cookies" and not found:
        # cookie names with a wildcard, e.g. ``_ga_*``
        found = [p for k, ps in table.items() if k.endswith("*") and key.startswith(k[:-1]) for p in ps]
    return found


def detect(page: Page, compiled: Compiled | None = None) -> list[Detection]:
    """Every technology the page shows, once each, with the first evidence found."""
    compiled = compiled or fingerprints()
    found: dict[str, Detection] = {}
    for signal, key, value in _strings(page):
        if signal in ("meta", "headers", "cookies"):
            pairs: Iterable[tuple[Pattern, str]] = [(p, value) for p in _keyed(compiled, signal, key, value)]
        else:
            pairs = candidates(compiled, _MATCHED_AS.get(signal, signal), value)
        for pattern, text in pairs:
            known = found.get(pattern.tech)
            if known is not None and (known.version or not pattern.version):
                continue
            match = _search(pattern, text)
            if match is None:
                continue
            version = version_of(pattern.version, match)
            if known is not None and not version:
                continue
            technology = compiled.technologies[pattern.tech]
            label = f"{pattern.signal} {pattern.key}" if pattern.signal in ("js", "dom") else f"{signal} {key}".strip()
            found[pattern.tech] = Detection(
                name=pattern.tech,
                categories=technology.categories,
                version=version if version[:1].isdigit() or version in ("UA", "GA4") else version[:20],
                url=page.url,
                signal=label,
                evidence=_keyed_evidence(page, signal, key, value)
                if key
                else _evidence(text, match.start(), match.end()),
            )
    _add_implied(found, compiled)
    return _settle(found, compiled)


def _search(pattern: Pattern, text: str) -> re.Match[str] | None:
    """The pattern's first match in ``text`` (for a js rule: the first whose text in front fits)."""
    if pattern.before is None:
        return pattern.regex.search(text)
    for tries, match in enumerate(pattern.regex.finditer(text)):
        if pattern.before.search(text, max(0, match.start() - 40), match.start()):
            return match
        if tries >= 20:
            break
    return None


def _add_implied(found: dict[str, Detection], compiled: Compiled) -> None:
    """Add what the detected technologies imply (WP Engine -> WordPress -> PHP), transitively: the signal
    says "implied by X" and the snippet is X's; a technology found on its own keeps its own evidence."""
    queue = list(found)
    while queue:
        name = queue.pop(0)
        for implied in compiled.technologies[name].implies:
            technology = compiled.technologies.get(implied)
            if technology is None or implied in found:
                continue
            found[implied] = Detection(
                name=implied,
                categories=technology.categories,
                version="",
                url=found[name].url,
                signal=f"implied by {name}",
                evidence=found[name].evidence,  # what showed the implying technology, on the page
            )
            queue.append(implied)


def _settle(found: dict[str, Detection], compiled: Compiled) -> list[Detection]:
    """Drop technologies whose required technology or category is missing, or that another excludes."""
    names = set(found)
    category_ids = {c for name in found for c in compiled.technologies[name].category_ids}
    keep = []
    for name, detection in found.items():
        technology = compiled.technologies[name]
        if technology.requires and not names & set(technology.requires):
            continue
        if technology.requires_category and not category_ids & set(technology.requires_category):
            continue
        if any(other in names for other in technology.excludes):
            continue
        keep.append(detection)
    return sorted(keep, key=lambda d: d.name.lower())


def extract_tech(page: Page) -> list[Fact]:
    """Technologies detected on the page as facts (value = name, snippet = the matched evidence)."""
    return [Fact("tech", d.name, d.url, d.evidence[:240]) for d in detect(page)]
