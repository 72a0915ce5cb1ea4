"""One parsed page: text, links, meta tags and JSON-LD, computed once and shared by the extractors."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from functools import cached_property
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

_SPACE = re.compile(r"\s+")
_DROP_TAGS = ("script", "style", "noscript", "template", "svg")
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

    @cached_property
    def json_ld(self) -> list[dict[str, Any]]:
        """Every JSON-LD object on the page, with ``@graph`` and arrays flattened."""
        objects: list[dict[str, Any]] = []
        for node in self.tree.css('script[type="application/ld+json"]'):
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

    @cached_property
    def text(self) -> str:
        """Visible text of the body, whitespace squashed (scripts and styles removed)."""
        self.json_ld  # noqa: B018 - read before the scripts are removed from the tree
        self.links  # noqa: B018
        body = self.tree.body or self.tree.root
        if body is None:
            return ""
        # one walk for all of them; removed last to first, so a node inside another goes before its container
        for node in reversed(body.css(", ".join(_DROP_TAGS))):
            node.decompose()
        return squash(body.text(separator=" "))

    @cached_property
    def _origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @cached_property
    def links(self) -> list[Link]:
        """Every link on the page, resolved to an absolute URL."""
        found = []
        for node in self.tree.css("a"):  # "a[href]" costs lexbor twice as much as "a" and a look at the dict
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
    def _metas(self) -> tuple[dict[str, str], dict[str, str]]:
        """The content of the first ``<meta>`` of each ``name`` and of each ``property`` (one walk of the tree,
        where a ``css_first`` per name walked it to the end for every name the page lacks)."""
        by_name: dict[str, str] = {}
        by_property: dict[str, str] = {}
        for node in self.tree.css("meta"):
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
