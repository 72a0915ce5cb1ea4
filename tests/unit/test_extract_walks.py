"""A page's tree is walked a few times for all the queries of extraction instead of once per query
(``Page.elements``, ``Page.marked``, the nodes ``Page.text`` removes): each must give exactly what its own
query gives, before ``Page.text`` changes the tree and after it."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from core.extract.page import (
    _DROP_TAGS,
    _TAGS_BEFORE_TEXT,
    BYLINE,
    BYLINE_TEXT,
    CLOUDFLARE_EMAIL,
    STREET_ADDRESS,
    Page,
    squash,
)

BYLINES = f"{BYLINE}, {BYLINE_TEXT}"
TAGS = (*_TAGS_BEFORE_TEXT, "p", "div")
# markup where these queries are easy to get wrong: tags in foreign content and in a <template>, a byline that is
# also a Cloudflare email, an itemprop in another casing, JSON-LD types in other casings, an SVG script
TRICKY = """<!doctype html><html lang="de"><head><title>T</title>
<meta name="description" content="d"><script type="Application/LD+JSON">{"@type": "Organization", "name": "A"}</script>
<script type="application/ld+json ">{"name": "B"}</script><noscript><link rel="stylesheet" href="/n.css"></noscript>
</head><body class="byline">
<svg><a href="/svg-link">s</a><form id="f1"></form><script type="application/ld+json">{"name": "C"}</script>
<foreignObject><address>12 Main St</address><meta name="in-svg" content="x"><p>in svg</p></foreignObject></svg>
<template><form id="f2"></form><a href="/tpl">t</a><span data-cfemail="00"></span></template>
<noscript><img src="/pixel.gif"><a href="/ns">ns</a><span class="author-name">Ann Noscript</span></noscript>
<div class="byline" data-cfemail="5a2e3f3b37"><a rel="author" class="author-link" href="/a">By Jo Doe</a></div>
<span itemprop="streetaddress">lower</span><div itemscope itemtype="x"><span itemprop="streetAddress">Main 1</span></div>
<style>p {}</style><form id="f3"><textarea></textarea></form><address>Hauptstr. 1, 10115 Berlin</address>
<A HREF="/upper">Upper</A><script>var x = "<a href='/in-script'>";</script><iframe src="/frame"></iframe>
</body></html>"""


def ids(nodes: list) -> list[int]:
    return [node.mem_id for node in nodes]


def check_walks(markup: str) -> None:
    """Every walked query equals its own query, before and after Page.text."""
    page = Page("https://example.com/", markup)
    for tag in TAGS:
        assert ids(page.elements(tag)) == ids(page.tree.css(tag)), tag
    for query in (BYLINES, CLOUDFLARE_EMAIL, STREET_ADDRESS):
        assert ids(page.marked(query)) == ids(page.tree.css(query)), query
    body = page.tree.body or page.tree.root
    if body is not None:
        assert ids(page._dropped_in(body)) == ids(body.css(", ".join(_DROP_TAGS)))
    assert ids(page._json_ld_scripts()) == ids(page.tree.css('script[type="application/ld+json"]'))
    assert page.text == text_by_its_own_query(markup)
    for tag in TAGS:
        assert ids(page.elements(tag)) == ids(page.tree.css(tag)), f"{tag} after text"
    for query in (BYLINES, CLOUDFLARE_EMAIL, STREET_ADDRESS):
        assert ids(page.marked(query)) == ids(page.tree.css(query)), f"{query} after text"


def text_by_its_own_query(markup: str) -> str:
    """Page.text as it was read before the walks: the dropped tags found by a query of the body."""
    tree = LexborHTMLParser(markup)
    body = tree.body or tree.root
    if body is None:
        return ""
    for node in reversed(body.css(", ".join(_DROP_TAGS))):
        node.decompose()
    return squash(body.text(separator=" "))


def test_the_walks_give_what_each_query_gives_on_tricky_markup() -> None:
    check_walks(TRICKY)
    page = Page("https://example.com/", TRICKY)
    assert page.marked(CLOUDFLARE_EMAIL)  # the byline that is also an email: each query made on its own
    assert [obj.get("name") for obj in page.json_ld] == ["A", "C"]


OPEN = st.sampled_from(
    [
        "<div>",
        "<p>",
        "<span>",
        "<a href='/x'>",
        "<A HREF='/y'>",
        "<form>",
        "<address>",
        "<meta name='n' content='c'>",
        "<script>",
        "<script type='application/ld+json'>",
        "<script type='APPLICATION/ld+json'>",
        "<style>",
        "<noscript>",
        "<template>",
        "<svg>",
        "<foreignObject>",
        "<body>",
        "<head>",
        "<link rel='stylesheet' href='/s.css'>",
        "<img src='/i.png'>",
        "<iframe src='/f'>",
        "<div class='byline'>",
        "<span class='author-name'>",
        "<a rel='author' href='/a'>",
        "<b itemprop='author'>",
        "<i itemprop='name'>",
        "<i itemprop='streetAddress'>",
        "<i itemprop='StreetAddress'>",
        "<i data-cfemail='00'>",
        "<i DATA-CFEMAIL='00' class='byline'>",
        "<div class='byline'><span class='author'>",
        "By Ann Lee",
        "text",
        "{}",
    ]
)
CLOSE = st.sampled_from(["</div>", "</p>", "</a>", "</svg>", "</script>", "</noscript>", "</template>", "</body>"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(OPEN, CLOSE), max_size=40), st.booleans())
@example(["<svg>", "<a href='/x'>", "<form>", "</svg>", "<i data-cfemail='00'>"], True)
def test_the_walks_give_what_each_query_gives(pieces: list[str], doctype: bool) -> None:
    check_walks(("<!doctype html>" if doctype else "") + "".join(pieces))
