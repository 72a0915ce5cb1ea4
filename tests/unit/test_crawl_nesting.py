"""The nesting scan: hostile depth is found in every spelling, ordinary markup is never cut."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from core.crawl.nesting import nesting_cut
from tests.fixtures.sites import generate_sites

LIMIT = 100


def depth_by_lexbor(markup: str) -> int:
    """The deepest element of the tree lexbor builds (html is depth 1)."""
    tree = LexborHTMLParser(markup)
    deepest, todo = 0, [(tree.root, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        child = node.child if node is not None else None
        while child is not None:
            if not child.tag.startswith(("-", "_")):
                todo.append((child, depth + 1))
            child = child.next
    return deepest


HOSTILE = {
    "divs": "<div>" * 5000,
    "self-closing divs open like <div>": "<div/>" * 5000,
    "inline elements": "<span><b><i>" * 2000,
    "after an empty comment": "<!-->" + "<div>" * 5000,
    "after an empty comment with a dash": "<!--->" + "<div>" * 5000,
    "after a title in svg (not raw text there)": "<svg><title>" + "<div>" * 5000,
    "list items inside lists": "<li><ul>" * 2000,
    "tables in cells": "<table><tr><td>" * 2000,
}


@pytest.mark.parametrize("markup", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_depth_is_cut_where_lexbor_would_go_too_deep(markup: str) -> None:
    cut = nesting_cut(markup, LIMIT)
    assert cut is not None
    assert depth_by_lexbor(markup) > LIMIT
    assert LIMIT - 10 <= depth_by_lexbor(markup[:cut]) <= LIMIT + 10


FLAT = {
    "paragraphs close each other": "<p>x" * 5000,
    "list items close each other": "<ul>" + "<li><span>x</li>" * 5000 + "</ul>",
    "anchors close each other": "<a href=/>x" * 5000,
    "cells close each other": "<table>" + "<tr><td>x<td>y" * 3000 + "</table>",
    "void elements": "<br><img src=x><input>" * 3000,
    "svg shapes close themselves": "<svg>" + "<path d=''/>" * 5000 + "</svg>",
    "markup in scripts and comments": "<script>" + "<div>" * 5000 + "</script><!--" + "<div>" * 5000 + "-->",
    "a title holds text": "<title>" + "<div>" * 5000,
}


@pytest.mark.parametrize("markup", FLAT.values(), ids=FLAT.keys())
def test_markup_that_builds_a_shallow_tree_is_not_cut(markup: str) -> None:
    assert depth_by_lexbor(markup) < LIMIT
    assert nesting_cut(markup, LIMIT) is None


def test_no_fixture_page_comes_near_the_limit() -> None:
    for site in generate_sites(40, seed=3):
        for path, page in site.pages.items():
            assert nesting_cut(page.body.decode("utf-8", "replace"), 40) is None, (site.host, path)
