"""A cheap, linear look at how deeply a page nests, before any HTML parser sees it.

HTML tree building costs time in proportion to the depth of the open elements for every tag, so
one page of 181,000 nested ``<div>``s costs minutes of CPU. The crawler cuts a page where it first
nests deeper than a limit no real page comes near; what came before is kept.
"""

from __future__ import annotations

import re

# A comment (``<!-->`` and ``<!--->`` are complete, empty ones), or a start or end tag.
_TOKEN = re.compile(
    r"<!--(?:>|->|.*?(?:--!?>|\Z))|<(/?)([a-zA-Z][^\s/>\x00]*)([^>]*)",
    re.DOTALL,
)
# Outside svg and math, these hold text until their end tag: markup inside builds no tree.
_RAW_TEXT = frozenset({"script", "style", "textarea", "xmp", "title"})
_FOREIGN = ("svg", "math")
# Elements that never hold children, or that exist once: they never deepen the tree.
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr keygen frame html head body".split()
)
# A start tag of these closes an open one of the same name (<p><p>, <li><li>, <a><a>), unless a
# boundary element (a list for <li>, a table for its cells) is open in between.
_CLOSES_ITS_LIKE = {
    "p": frozenset({"button", "table", "td", "th", "caption", "object", "marquee", "template"}),
    "li": frozenset({"ul", "ol", "menu", "table", "td", "th"}),
    "dt": frozenset({"dl", "table", "td", "th"}),
    "dd": frozenset({"dl", "table", "td", "th"}),
    "option": frozenset({"select", "datalist"}),
    "optgroup": frozenset({"select"}),
    "tr": frozenset({"table"}),
    "td": frozenset({"table"}),
    "th": frozenset({"table"}),
    "thead": frozenset({"table"}),
    "tbody": frozenset({"table"}),
    "tfoot": frozenset({"table"}),
    "rt": frozenset({"ruby"}),
    "rp": frozenset({"ruby"}),
    "a": frozenset({"table", "td", "th", "button"}),
}
_LOOK_BACK = 16  # how far below the top an open element of the same name is looked for


class _OpenElements:
    """The stack of open element names, with counts so a closing tag is matched in O(1) amortised."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.counts: dict[str, int] = {}

    def push(self, name: str) -> None:
        self.names.append(name)
        self.counts[name] = self.counts.get(name, 0) + 1

    def pop_to(self, name: str) -> None:
        """Close ``name`` and everything opened inside it (no-op when it is not open)."""
        if not self.counts.get(name):
            return
        while self.names:
            top = self.names.pop()
            self.counts[top] -= 1
            if top == name:
                return

    def close_like(self, name: str, boundaries: frozenset[str]) -> None:
        """Close an open ``name`` near the top, as a parser does when another one starts."""
        if not self.counts.get(name):
            return
        for top in reversed(self.names[-_LOOK_BACK:]):
            if top == name:
                self.pop_to(name)
                return
            if top in boundaries:
                return


def nesting_cut(markup: str, limit: int) -> int | None:
    """The offset of the first tag that would open element number ``limit + 1``, or None.

    It follows the parser only as far as the depth goes: end tags close what was opened inside,
    a new ``<p>``/``<li>``/``<td>``… closes the last one, void elements and comments open nothing.
    On 482 real pages it stayed within a few levels of lexbor's depth (69 at most).
    """
    if markup.count("<") <= limit:
        return None
    stack = _OpenElements()
    position = 0
    while (match := _TOKEN.search(markup, position)) is not None:
        position = match.end()
        name = match.group(2)
        if name is None:
            continue  # a comment
        name = name.lower()
        if name in _VOID:
            continue
        if match.group(1):
            stack.pop_to(name)
            continue
        foreign = any(stack.counts.get(f) for f in _FOREIGN)
        if foreign and match.group(3).rstrip().endswith("/"):
            continue  # <path/> closes itself in svg; in HTML, <div/> opens a div like <div>
        if name in _RAW_TEXT and not foreign:
            end = re.compile(rf"</{name}[\s/>]", re.IGNORECASE).search(markup, position)
            position = end.end() if end is not None else len(markup)
            continue
        if name in _CLOSES_ITS_LIKE:
            stack.close_like(name, _CLOSES_ITS_LIKE[name])
        if name == "tr" and stack.names and stack.names[-1] == "table":
            stack.push("tbody")  # the one a parser adds itself
        stack.push(name)
        if len(stack.names) > limit:
            return match.start()
    return None
