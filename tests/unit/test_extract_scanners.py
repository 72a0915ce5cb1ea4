"""The whole-text scanners of extraction are written so that the regex engine can skip to a candidate in C
(one opening character set); each must find exactly what its plain spelling finds."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.extract.company import _HOURS, _POSTCODE_ANYWHERE, _hours_in
from core.extract.emails import _AT_MARKER
from core.extract.people import _OTHER_CONTENT, _other_content_marks
from core.extract.phones import _DIGIT_RUN

PLAIN = {
    "digit runs": (_DIGIT_RUN, re.compile(r"[+(]?\d[\d ().\-/]{5,28}\d")),
    "at markers": (_AT_MARKER, re.compile(r"@|[\[({<]\s*at\s*[\])}>]", re.IGNORECASE)),
    "postcodes": (_POSTCODE_ANYWHERE, re.compile(r"\d{4,5}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}")),
}
# the characters the patterns turn on, some that look like them (other digits, the Kelvin sign), and filler
ALPHABET = "+(0123456789٣ ().-/@[{<]})>aAtTKkWN\u212a x\n"


def spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(text)]


@settings(max_examples=3000)
@given(st.text(alphabet=ALPHABET, max_size=80))
@example("Tel. +49 (0)30 1234567, Fax (030) 1234-568")
@example("info [at] example.de, sales(AT)example.de, a @ b, < at >")
@example("10115 Berlin, London NW1 6XE, SW1A1AA, 2019 2020 12345")
def test_scanners_find_what_their_plain_spelling_finds(text: str) -> None:
    for name, (fast, plain) in PLAIN.items():
        assert spans(fast, text) == spans(plain, text), name


HOURS_PIECES = st.sampled_from(
    ["Mo", "mo", "MO", "mO", "Montag", "LUNDI", "lu", "Lu", "lunes", "Fr", "fri", "Sa", "So", "vie", "VEN", "-", "–"]
    + [" ", "  ", "bis", "to", "à", "a", "9", "18", "09:30", ".", ":", "h", "Uhr", "am", "pm", "x", "more", "blue"]
    + ["İ", "ß", "\u212a", "Σ", "ﬁ"]  # characters whose lower case is longer, or another letter
)


@settings(max_examples=3000)
@given(st.lists(HOURS_PIECES, max_size=30).map("".join))
@example("Öffnungszeiten: Mo - Fr 9:00 - 18:00 Uhr, Sa 10-14 Uhr")
@example("İstanbul: lundi à vendredi 9h - 18h")
def test_opening_hours_are_found_where_the_plain_search_finds_them(text: str) -> None:
    plain = _HOURS.search(text)
    for found in (_hours_in(text, text.lower()), _hours_in(text)):
        assert (found and found.span()) == (plain and plain.span())


MARK_PIECES = st.sampled_from(
    ["comment", "Related", "RECOMMEND", "more-", "teaser", "sideBar", "widget", "popular", "trending", "posts-block"]
    + ["card", "Card", "cards", "scard", "card_x", "card-x", "wildcard", "ca", "rd", " ", "-", "_", "9", "post"]
    + ["ſidebar", "wİdget", "comment\u0307", "\u212aard", "é"]  # non-ASCII marks: the case-insensitive pattern decides
)


@settings(max_examples=3000)
@given(st.lists(MARK_PIECES, max_size=8).map("".join))
@example("entry-meta card")
@example("ſidebar")
def test_other_content_marks_as_the_case_insensitive_pattern_reads_them(marks: str) -> None:
    assert _other_content_marks(marks) == (_OTHER_CONTENT.search(marks) is not None)
