"""The reader's own reading of simple From, To and Cc headers gives what the standard library's
``parseaddr`` and ``getaddresses`` give, on every header: simple ones by its pattern, the rest by them."""

from __future__ import annotations

from email.utils import getaddresses, parseaddr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.replies.parse import _recipients, _sender, _simple

# Real header shapes, and the characters that change how an address reads, "|"-separated.
SHAPES = (
    'Ada Lovelace <ada@x.com>|"Lovelace, Ada" <ada@x.com>|"Ada" <ada@x.com>|Ada (Lovelace) <ada@x.com>|'
    "ada@x.com (Ada Lovelace)|<ada@x.com>|ada@x.com|ADA@X.COM|J. Smith <j@x.com>|O'Neil <o@x.com>|'Ada' <a@b.c>|"
    "=?utf-8?q?Ad=C3=A9?= <ada@x.com>|Ada <ada@x.com>, Bob <bob@y.org>|undisclosed-recipients:;|"
    "team: ada@x.com, bob@y.org;|Ada <ada@x.com>,,Bob <bob@y.org>|ada@x.com.|a..b@x.com|.a@b.c|a.@b.c|a@.b|"
    "a@b..c|a@b|Ada <<a@b.c>>|Ada < a@b.c >|Ada <ada@x.com> (work)|A\u00e9 <a@b.c>|%a+b@b-c.d| |"
).split("|")
PIECES = st.sampled_from(SHAPES + list("Ada J. -'0<>,\"():;@.%+_\\[]") + [", ", "..", "x.com", "Lovelace"])
HEADERS = st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=7).map(
    lambda parts: " ".join("".join(parts).split())
)


@pytest.mark.parametrize("header", SHAPES)
def test_the_shapes_mail_takes_read_as_the_standard_library_reads_them(header):
    assert _sender(header) == parseaddr(header)
    assert _recipients([header, ""]) == tuple(a.lower() for _, a in getaddresses([header, ""]) if a)


@settings(max_examples=3000, deadline=None)
@given(HEADERS)
def test_a_from_header_reads_as_parseaddr_reads_it(header):
    assert _sender(header) == parseaddr(header)


@settings(max_examples=3000, deadline=None)
@given(HEADERS, HEADERS)
def test_to_and_cc_read_as_getaddresses_reads_them(to, cc):
    assert _recipients([to, cc]) == tuple(address.lower() for _, address in getaddresses([to, cc]) if address)


def test_the_common_forms_take_the_short_way():
    assert _simple("Ada Lovelace <ada@x.com>") == ("Ada Lovelace", "ada@x.com")
    assert _simple("<ada@x.com>") == ("", "ada@x.com")
    assert _simple("ada@x.com") == ("", "ada@x.com")
    assert _simple('"Lovelace, Ada" <ada@x.com>') is None  # quoted: the standard library reads it
