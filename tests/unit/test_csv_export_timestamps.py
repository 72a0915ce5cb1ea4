"""Export timestamps: ISO 8601 in UTC, the same text whichever database stored them."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from core.leads.csv_export import _timestamp


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 31)))
def test_an_exported_sqlite_timestamp_reads_as_the_datetime_it_stores(moment):
    """The text shortcut for SQLite's stored timestamps gives what parsing them gives."""
    stored = moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite storage format
    assert _timestamp(stored) == moment.replace(tzinfo=UTC).isoformat() == _timestamp(moment)
    assert _timestamp(stored[:19]) == moment.replace(microsecond=0, tzinfo=UTC).isoformat()  # other shapes: parsed
