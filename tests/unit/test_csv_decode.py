"""How an uploaded CSV's bytes are read: UTF-16 without its byte order mark is told by its NUL bytes."""

from __future__ import annotations

import pytest

from core.leads.csv_read import decode, parse

CSV = "Company,City,Contact\nMüller Rösterei GmbH,Łódź,jörg@müller.example\nZoë's Café,Málaga,+34 952 00 00 00\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_its_byte_order_mark_is_read_as_utf16(encoding):
    text, found = decode(CSV.encode(encoding))
    assert (text, found) == (CSV, encoding)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (CSV.encode("utf-16"), "utf-16"),  # with the mark, as before
        (CSV.encode("utf-8"), "utf-8"),
        (CSV.encode("cp1252", errors="replace"), "windows-1252"),
        (b"Company\nA\x00 Co\n", "utf-8"),  # a stray NUL is not UTF-16
        (b"", "utf-8"),
        (b"A", "utf-8"),
    ],
)
def test_other_encodings_are_read_as_before(data, expected):
    assert decode(data)[1] == expected


def test_a_bomless_utf16_export_parses_into_its_columns():
    parsed = parse(CSV.encode("utf-16-le"))
    assert parsed.headers == ("Company", "City", "Contact")
    assert parsed.rows[0] == ("Müller Rösterei GmbH", "Łódź", "jörg@müller.example")
