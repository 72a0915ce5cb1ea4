"""Import fuzzing: random encodings, delimiters, quoting, missing/extra columns, blank lines, huge fields."""

from __future__ import annotations

import csv
import io
from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.leads import csv_import, csv_read
from tests.conftest import make_owner

KNOWN = ["Company", "Website", "Email", "Phone", "First Name", "Last Name", "Title", "City", "Country", "Notes", "Tags"]
cell = st.one_of(
    st.text(alphabet=st.characters(max_codepoint=0x2FF, blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(["acme.com", "https://www.shop.acme.co.uk/x", "info@acme.com", "bad@", "+44 20 7946 0000",
                     "12", '"quoted"', "a;b,c|d\te", "line\nbreak", "=1+2", "'=1", "café", "", "   "]),
    st.builds(lambda n: "x" * n, st.integers(min_value=1000, max_value=300_000)),
)


@lru_cache(maxsize=1)
def actor():
    return make_owner()


@st.composite
def csv_files(draw):
    headers = draw(st.lists(st.sampled_from(KNOWN + ["Extra", "Unused column", ""]), min_size=0, max_size=8))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(headers) + 2), max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(headers)
    for row in rows:
        if draw(st.booleans()) and draw(st.booleans()):
            out.write("\n")  # a blank line
        writer.writerow(row)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]))
    return out.getvalue().encode(encoding, errors="replace")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=csv_files(), mode=st.sampled_from(["update", "skip"]))
def test_import_never_crashes_and_counts_add_up(data, mode):
    try:
        preview = csv_import.preview(data)
    except InvalidInput:
        return
    assert preview.rows == len(csv_read.parse(data).rows)
    try:
        result = csv_import.import_csv(actor=actor(), data=data, on_duplicate=mode, default_region="GB")
    except InvalidInput as error:
        assert "Map a website or an email column" in str(error)
        return
    assert result.imported + result.updated + result.skipped + len(result.rejected) == result.rows_read == preview.rows
    assert all(reason for _n, reason, _c in result.rejected)
    again = csv_import.import_csv(actor=actor(), data=data, on_duplicate=mode, default_region="GB")
    assert again.imported == 0 and again.updated == 0
    assert again.rows_read == again.skipped + len(again.rejected)
