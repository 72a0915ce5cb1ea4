"""Candidate selection: registered domains, the blocklist, known domains and pasted URL lists."""

from __future__ import annotations

import pytest

from core.search import SearchResult, normalise_domain, parse_url_list, select_candidates
from core.search.candidates import DEFAULT_BLOCKLIST, parse_blocklist


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.shop.acme.co.uk/about?x=1", "acme.co.uk"),
        ("http://Blog.Example.COM.", "example.com"),
        ("example.de/kontakt", "example.de"),
        ("https://bücher.de/", "xn--bcher-kva.de"),
        ("https://foo.github.io/", "foo.github.io"),  # a private suffix is its own site
        ("http://nordwind-0001.test:8080/", "nordwind-0001.test"),
        ("http://127.0.0.1/", None),
        ("not a url", None),
    ],
)
def test_normalise_domain(url: str, domain: str | None) -> None:
    assert normalise_domain(url) == domain


def test_select_candidates_drops_blocked_known_and_duplicate_domains() -> None:
    results = [
        SearchResult(query="q", rank=1, url="https://www.linkedin.com/company/acme"),
        SearchResult(query="q", rank=2, url="https://www.acme.com/"),
        SearchResult(query="q", rank=3, url="https://shop.acme.com/products"),
        SearchResult(query="q", rank=4, url="https://www.amazon.de/dp/123"),
        SearchResult(query="q", rank=5, url="https://de.indeed.com/jobs"),
        SearchResult(query="q", rank=6, url="https://known.io/"),
        SearchResult(query="q", rank=7, url="https://beta.example.org/x"),
        SearchResult(query="q", rank=8, url="https://en.wikipedia.org/wiki/Acme"),
    ]
    chosen = select_candidates(results, known_domains={"known.io"})
    assert [(c.domain, c.rank, c.url) for c in chosen] == [
        ("acme.com", 2, "https://www.acme.com/"),
        ("example.org", 7, "https://beta.example.org/"),
    ]


def test_blocklist_setting_adds_entries() -> None:
    extra = parse_blocklist("Competitor.com, www.other.de\nyelp")
    assert extra == {"competitor.com", "other.de", "yelp"}
    results = [SearchResult(query="q", rank=1, url="https://competitor.com/")]
    assert select_candidates(results, blocklist=DEFAULT_BLOCKLIST | extra) == []


def test_pasted_list_keeps_good_lines_and_reports_bad_ones() -> None:
    text = "\n".join(
        [
            "https://acme.com/about",
            "  example.de  ",
            "# a comment",
            "",
            "ftp://files.acme.com/",
            "not a url at all",
            "http://user:pw@evil.com/",
            "http://192.168.0.1/",
            "https://www.facebook.com/acme",
            "https://www.acme.com/again",
            "localhost",
        ]
    )
    parsed = parse_url_list(text, blocklist=DEFAULT_BLOCKLIST)
    assert [c.domain for c in parsed.candidates] == ["acme.com", "example.de"]
    assert [c.url for c in parsed.candidates] == ["https://acme.com/about", "https://example.de/"]
    assert [r.line_no for r in parsed.rejected] == [5, 6, 7, 8, 9, 11]
    reasons = {r.line_no: r.reason for r in parsed.rejected}
    assert "scheme" in reasons[5] and "spaces" in reasons[6] and "password" in reasons[7]
    assert "IP address" in reasons[8] and "blocklist" in reasons[9]
