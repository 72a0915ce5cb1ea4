"""One parsed page: text, links, meta tags and JSON-LD, computed once and shared by the extractors."""

from __future__ import annotations

import html
import json
import re
from bisect import bisect_right
from collections.abc import Iterator
from functools import cached_property
from itertools import accumulate
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from ahocorasick_rs import AhoCorasick
from selectolax.lexbor import LexborHTMLParser, LexborNode

_SPACE = re.compile(r"\s+")
_DROP_TAGS = ("script", "style", "noscript", "template", "svg")
# The tags the extractors read, found in one walk of the tree instead of one walk per tag (on a cold tree a walk
# is 0.1 ms for one tag or for all of these; in extraction, where the tree is warm from parsing, the three walks
# of a page save 1-2 % of its time, paired with bench/extract_ab.py). Page.text removes the dropped tags from the
# tree, so the walk is made again after it, for the tags still read then.
_TAGS_BEFORE_TEXT = ("body", "a", "meta", "form", "address", "link", "iframe", "img", *_DROP_TAGS)
_TAGS_AFTER_TEXT = ("meta", "form", "address")
_LD_JSON = "application/ld+json"
# A byline: an author's link or name (BYLINE), or an element whose class says byline (BYLINE_TEXT, kept only
# when it reads "By …").
BYLINE = (
    'a[rel="author"], [itemprop="author"] [itemprop="name"], .byline .author, .byline__author, .author-link, '
    '[class*="author-name"], [class*="author__name"]'
)
BYLINE_TEXT = '[class*="byline"]'
CLOUDFLARE_EMAIL = "[data-cfemail]"
STREET_ADDRESS = '[itemprop="streetAddress"]'
# three queries that match few nodes, in one walk of the tree (see Page.marked)
_MARKED = f"{BYLINE}, {BYLINE_TEXT}, {CLOUDFLARE_EMAIL}, {STREET_ADDRESS}"
# a root-relative path that urljoin copies unchanged after the origin: no "//", no "." segment, no
# whitespace, control characters or ";" params, no empty "?"/"#" (urljoin drops those); anything else goes to urljoin
_PLAIN_ROOT_PATH = re.compile(
    r"/(?![/.])(?:[^\s\x00-\x1f/?#.;]|/(?![/.])|\.(?!\.?(?:[/?#;]|$)))*(?:\?[^\s\x00-\x1f#]+)?(?:#[^\s\x00-\x1f]+)?"
)


class Link(NamedTuple):
    """An ``<a href>`` resolved against the page URL, with its visible text and rel/class hints (a named
    tuple: a page has hundreds, and a frozen dataclass costs three times as much to build)."""

    href: str
    text: str
    hint: str  # rel, class, aria-label and title, lower-cased


def squash(text: str) -> str:
    """Collapse runs of whitespace to single spaces (``str.split`` splits on what ``\\s`` matches)."""
    return " ".join(text.split())


class Page:
    """A page parsed with selectolax (lexbor); every property is computed lazily and cached."""

    def __init__(
        self, url: str, markup: str, headers: tuple[tuple[str, str], ...] = (), *, utf8: bytes | None = None
    ) -> None:
        """``utf8``, when given, is ``markup`` encoded in UTF-8: the parser reads it as it is."""
        self.url = url
        self.markup = markup
        self.headers = {k.lower(): v for k, v in headers}
        self.tree = LexborHTMLParser(utf8 if utf8 is not None else markup)
        self._walked: list[LexborNode] | None = None  # every node of the walk, in document order
        self._by_tag: dict[str, list[LexborNode]] = {}
        self._pruned = False  # Page.text has removed the dropped tags
        self._marked: tuple[bool, dict[str, list[LexborNode]]] | None = None

    def elements(self, tag: str) -> list[LexborNode]:
        """The elements of ``tag`` in document order, as ``tree.css(tag)`` finds them now (from one walk of the
        tree for every tag extraction reads, made again once ``text`` has changed the tree)."""
        if self._walked is None:
            tags = _TAGS_AFTER_TEXT if self._pruned else _TAGS_BEFORE_TEXT
            by_tag: dict[str, list[LexborNode]] = {name: [] for name in tags}
            self._by_tag = by_tag
            self._walked = self.tree.css(", ".join(tags))
            for node in self._walked:
                by_tag[node.tag].append(node)  # type: ignore[index]
        found = self._by_tag.get(tag)
        return found if found is not None else self.tree.css(tag)

    def marked(self, query: str) -> list[LexborNode]:
        """``tree.css(query)`` as it finds them now, for ``query`` one of ``f"{BYLINE}, {BYLINE_TEXT}"``,
        ``CLOUDFLARE_EMAIL`` and ``STREET_ADDRESS``: the three are found in one walk of the tree instead of three.

        lexbor lists a node once for each selector it matches, in document order: a node that matches neither of the
        last two (told apart by its attributes, as lexbor compares them, with any casing of the street's value taken
        as a match) is listed exactly as the byline query lists it. When a node looks like either of them, which is
        rare, each query is made on its own."""
        if self._marked is None or self._marked[0] != self._pruned:
            found = self.tree.css(_MARKED)
            if any(_maybe_email_or_street(node.attributes) for node in found):
                queries = (f"{BYLINE}, {BYLINE_TEXT}", CLOUDFLARE_EMAIL, STREET_ADDRESS)
                self._marked = (self._pruned, {q: self.tree.css(q) for q in queries})
            else:
                bylines = f"{BYLINE}, {BYLINE_TEXT}"
                self._marked = (self._pruned, {bylines: found, CLOUDFLARE_EMAIL: [], STREET_ADDRESS: []})
        return self._marked[1][query]

    @cached_property
    def json_ld(self) -> list[dict[str, Any]]:
        """Every JSON-LD object on the page, with ``@graph`` and arrays flattened."""
        objects: list[dict[str, Any]] = []
        for node in self._json_ld_scripts():
            raw = (node.text(deep=True) or "").strip()
            if not raw:
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                try:
                    data = json.loads(html.unescape(raw).replace("\n", " "))
                except ValueError:
                    continue
            objects.extend(_flatten_ld(data))
        return objects

    def _json_ld_scripts(self) -> list[LexborNode]:
        """``tree.css('script[type="application/ld+json"]')``, read off the walk. lexbor compares the type
        ASCII-case-insensitively on an HTML script and exactly on an SVG one: a type in another casing is left
        to the query."""
        scripts = [node for node in self.elements("script") if (node.attributes.get("type") or "").lower() == _LD_JSON]
        if any(node.attributes.get("type") != _LD_JSON for node in scripts):
            return self.tree.css(f'script[type="{_LD_JSON}"]')
        return scripts

    @cached_property
    def text(self) -> str:
        """Visible text of the body, whitespace squashed (scripts and styles removed)."""
        self.json_ld  # noqa: B018 - read before the scripts are removed from the tree
        self.links  # noqa: B018
        body = self.tree.body or self.tree.root
        if body is None:
            return ""
        # removed last to first, so a node inside another goes before its container
        for node in reversed(self._dropped_in(body)):
            node.decompose()
        self._pruned, self._walked, self._by_tag = True, None, {}
        return squash(body.text(separator=" "))

    def _dropped_in(self, body: LexborNode) -> list[LexborNode]:
        """``body.css(", ".join(_DROP_TAGS))``, read off the walk when it was made on this tree: the nodes of
        those tags that come after the body element (its descendants: the parser puts everything after
        ``<body>`` into it), else a walk of the body."""
        walked = self._walked
        if walked is not None and not self._pruned and body.tag == "body":
            bodies = self._by_tag["body"]
            if len(bodies) == 1 and bodies[0].mem_id == body.mem_id:
                start = next(i for i, node in enumerate(walked) if node.tag == "body") + 1
                return [node for node in walked[start:] if node.tag in _DROP_TAGS]
        return body.css(", ".join(_DROP_TAGS))

    @cached_property
    def _origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @cached_property
    def links(self) -> list[Link]:
        """Every link on the page, resolved to an absolute URL."""
        found = []
        for node in self.elements("a"):  # "a[href]" costs lexbor twice as much as "a" and a look at the dict
            attributes = node.attributes
            href = (attributes.get("href") or "").strip()
            if not href or href.startswith("#") or href.lower().startswith("javascript:"):
                continue
            hint = (
                f"{attributes.get('rel') or ''} {attributes.get('class') or ''} "
                f"{attributes.get('aria-label') or ''} {attributes.get('title') or ''}"
            ).lower()
            if href.startswith(("https://", "http://")) and " " not in href:
                absolute = href  # already absolute: urljoin would only copy it
            elif _PLAIN_ROOT_PATH.fullmatch(href):
                absolute = self._origin + href  # what urljoin gives for a plain /path (no dot or empty segments)
            else:
                try:
                    absolute = urljoin(self.url, href)
                except ValueError:
                    continue
            found.append(Link(href=absolute, text=squash(node.text(deep=True) or ""), hint=hint))
        return found

    @cached_property
    def _lower_hrefs(self) -> tuple[str, list[int]]:
        """Every link's href lower-cased, joined by NUL (the parser never leaves one in an attribute), and where
        each one starts in the joined string."""
        links = self.links
        joined = "\x00".join(link.href for link in links)
        if joined.isascii():
            lowered, lengths = joined.lower(), [len(link.href) for link in links]
        else:  # lower() may turn one character into two ("İ"): each href on its own
            hrefs = [link.href.lower() for link in links]
            lowered, lengths = "\x00".join(hrefs), [len(href) for href in hrefs]
        return lowered, list(accumulate((length + 1 for length in lengths[:-1]), initial=0))

    def links_containing(self, needles: AhoCorasick) -> list[Link]:
        """The links whose lower-cased href contains one of ``needles`` (lower-case, no NUL), in page order: one
        search of all the hrefs (a page has hundreds of links, an extractor wants a few) instead of one per link.
        Every such link has a match of its own: a match cannot run from one href into the next."""
        lowered, starts = self._lower_hrefs
        links = self.links
        found: list[Link] = []
        last = -1
        for _needle, start, _end in needles.find_matches_as_indexes(lowered):
            index = bisect_right(starts, start) - 1
            if index != last:
                found.append(links[index])
                last = index
        return found

    @cached_property
    def _metas(self) -> tuple[dict[str, str], dict[str, str]]:
        """The content of the first ``<meta>`` of each ``name`` and of each ``property`` (one walk of the tree,
        where a ``css_first`` per name walked it to the end for every name the page lacks)."""
        by_name: dict[str, str] = {}
        by_property: dict[str, str] = {}
        for node in self.elements("meta"):
            attributes = node.attributes
            content = attributes.get("content") or ""
            name, prop = attributes.get("name"), attributes.get("property")
            if name is not None and name not in by_name:
                by_name[name] = content
            if prop is not None and prop not in by_property:
                by_property[prop] = content
        return by_name, by_property

    def meta(self, *names: str) -> str:
        """The content of the first ``<meta name|property=...>`` among ``names``."""
        by_name, by_property = self._metas
        for name in names:
            content = by_name[name] if name in by_name else by_property.get(name)
            if content is not None:
                content = squash(content)
                if content:
                    return content
        return ""

    @cached_property
    def title(self) -> str:
        """The ``<title>`` text."""
        node = self.tree.css_first("title")
        return squash(node.text() or "") if node is not None else ""

    @cached_property
    def lang(self) -> str:
        """The declared language (``<html lang>`` or content-language), two letters."""
        node = self.tree.css_first("html")
        value = (node.attributes.get("lang") or "") if node is not None else ""
        value = value or self.headers.get("content-language", "") or self.meta("og:locale", "language")
        return value.split("-")[0].split("_")[0].lower()[:2]

    @cached_property
    def host(self) -> str:
        """The page's host name, lower-cased, without ``www.``."""
        host = (urlsplit(self.url).hostname or "").lower()
        return host[4:] if host.startswith("www.") else host

    @cached_property
    def lower_text(self) -> str:
        """``text`` lower-cased (computed once: snippets look needles up in it)."""
        return self.text.lower()

    def snippet(self, needle: str, width: int = 60) -> str:
        """A piece of the page text around ``needle`` (empty when it is not in the text)."""
        index = self.text.find(needle)
        if index < 0:
            lowered = self.lower_text.find(needle.lower())
            if lowered < 0:
                return ""
            index = lowered
        start, end = max(0, index - width), min(len(self.text), index + len(needle) + width)
        return self.text[start:end]

    def source_snippet(self, needle: str, width: int = 60) -> str:
        """Around ``needle``: from the visible text when it is there, else from the raw HTML."""
        if not needle:
            return ""
        found = self.snippet(needle, width)
        if found:
            return found
        index = self.markup.find(needle)
        if index < 0:
            return ""
        return self.markup[max(0, index - width) : index + len(needle) + width]

    def nodes(self, selector: str) -> Iterator[LexborNode]:
        """Nodes matching a CSS selector."""
        yield from self.tree.css(selector)


def _maybe_email_or_street(attributes: dict[str, str | None]) -> bool:
    """Whether a node may match ``CLOUDFLARE_EMAIL`` or ``STREET_ADDRESS`` (lexbor reads attribute names lower-cased;
    it compares an itemprop's value exactly, and any casing is taken here)."""
    return "data-cfemail" in attributes or (attributes.get("itemprop") or "").lower() == "streetaddress"


def _flatten_ld(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten_ld(item)
    elif isinstance(data, dict):
        if "@graph" in data:
            yield from _flatten_ld(data["@graph"])
        yield data


def ld_types(obj: dict[str, Any]) -> set[str]:
    """The ``@type`` values of a JSON-LD object, as a set of strings."""
    kind = obj.get("@type", [])
    return {str(t) for t in (kind if isinstance(kind, list) else [kind])}
