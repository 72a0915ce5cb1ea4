"""Decoding, HTML detection and page selection, without a network."""

from __future__ import annotations

import gzip

import pytest

from core.crawl.decode import CappedGunzip, decode_html, is_html_response, read_html
from core.crawl.select import choose_pages, classify, extract_links, parse_sitemap
from core.errors import CrawlError
from core.retry import parse_retry_after


def test_decoding_order_utf8_then_declared_then_detected() -> None:
    assert decode_html("Größe".encode(), "text/html; charset=iso-8859-1") == ("Größe", "utf-8")
    german = "<p>Über uns: Familienunternehmen aus München, Größe und Qualität.</p>".encode("cp1252")
    assert decode_html(german, "text/html; charset=windows-1252")[0].startswith("<p>Über")
    russian = ("<p>Наша компания работает с 1998 года и поставляет оборудование.</p>" * 3).encode("cp1251")
    text, codec = decode_html(russian, "text/html; charset=iso-8859-1")
    assert codec == "cp1251" and "компания" in text
    cut = "añb".encode()[:2]  # body truncated inside a multi-byte character
    assert decode_html(cut, truncated=True) == ("a", "utf-8")


def test_the_utf8_bytes_are_kept_only_when_they_are_exactly_the_text() -> None:
    body = "<p>Größe</p>".encode()
    assert read_html(body).utf8 is body
    assert read_html(b"\xef\xbb\xbf" + body).utf8 == body  # without the byte-order mark, like the text
    cut = "<p>añb".encode()[:5]  # truncated inside a multi-byte character: the bytes lose that tail too
    assert read_html(cut, truncated=True).utf8 == b"<p>a"
    german = "<p>Über uns: Familienunternehmen aus München, Größe und Qualität.</p>".encode("cp1252")
    assert read_html(german, "text/html; charset=windows-1252").utf8 is None
    assert read_html("<p>Größe</p>".encode("utf-16")).utf8 is None
    for decoded in (read_html(body), read_html(cut, truncated=True)):
        assert decoded.utf8 is not None and decoded.utf8.decode("utf-8") == decoded.text


def test_a_page_cut_for_its_nesting_keeps_no_utf8_bytes() -> None:
    from core.crawl.fetcher import _decode_within_nesting

    whole = "<p>Größe</p>".encode()
    decoded, note = _decode_within_nesting(whole, "text/html", False, 1000)
    assert (decoded.utf8, note) == (whole, "")
    deep = ("<div>" * 50 + "ü").encode()
    decoded, note = _decode_within_nesting(deep, "text/html", False, 10)
    assert note and decoded.utf8 is None and len(decoded.text) < len(deep.decode())


def test_undecodable_bytes_are_refused_not_garbled() -> None:
    with pytest.raises(CrawlError, match="encoding"):
        decode_html(bytes(range(128, 256)) * 50 + b"\x00\x01\x02" * 100)


def test_capped_gunzip_stops_at_the_cap() -> None:
    inflater = CappedGunzip(1000)
    out = inflater.feed(gzip.compress(b"a" * 1_000_000))
    assert len(out) == 1000 and inflater.truncated


@pytest.mark.parametrize(
    ("content_type", "body", "html"),
    [
        ("text/html; charset=utf-8", b"<!doctype html><p>x", True),
        ("", b"  <html><body>", True),
        ("text/plain", b"just words", False),
        ("application/octet-stream", b"%PDF-1.7", False),
        ("text/html", b"\x89PNG\r\n\x1a\n", False),
        ("image/png", b"<html>", False),
    ],
)
def test_html_detection(content_type: str, body: bytes, html: bool) -> None:
    assert is_html_response(content_type, body) is html


def test_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


@pytest.mark.parametrize(
    ("url", "text", "kind"),
    [
        ("https://a.de/kontakt", "", "contact"),
        ("https://a.de/x", "Über uns", "about"),
        ("https://a.fr/qui-sommes-nous/", "", "about"),
        ("https://a.es/contacto.html", "", "contact"),
        ("https://a.de/impressum", "", "legal"),
        ("https://a.com/careers", "", "careers"),
        ("https://a.com/pricing", "", "pricing"),
        ("https://a.com/blog", "", "blog"),
        ("https://a.com/cart", "", "other"),
    ],
)
def test_classify(url: str, text: str, kind: str) -> None:
    assert classify(url, text)[0] == kind


def test_choose_pages_same_site_best_of_each_kind() -> None:
    html = """<html><base href="https://www.acme.de/"><body>
      <a href="/kontakt">Kontakt</a><a href="contact-form">Contact form</a><a href="/ueber-uns">Über uns</a>
      <a href="https://other.com/contact">elsewhere</a><a href="/brochure.pdf">Kontakt PDF</a>
      <a href="mailto:x@acme.de">mail</a><a href="/blog">Blog</a><a href="/karriere">Jobs</a>
      <a href="https://shop.acme.de/preise">Preise</a><a href="#top">top</a></body></html>"""
    links = extract_links(html, "https://www.acme.de/")
    sitemap = parse_sitemap(b"<urlset><url><loc>https://www.acme.de/impressum</loc></url></urlset>")
    chosen = choose_pages(links, home_url="https://www.acme.de/", limit=5, sitemap_urls=sitemap)
    assert [p.url for p in chosen] == [
        "https://www.acme.de/kontakt",
        "https://www.acme.de/ueber-uns",
        "https://www.acme.de/impressum",
        "https://shop.acme.de/preise",
        "https://www.acme.de/karriere",
    ]
