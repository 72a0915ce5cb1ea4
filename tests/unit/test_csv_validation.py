"""The import's fast paths give exactly the answers of the libraries they stand in front of."""

from __future__ import annotations

import ipaddress

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from core.extract.emails import plain_email
from core.leads.csv_read import FIELDS
from core.leads.csv_rows import clean_email, clean_phone, validate_row
from core.search.candidates import _extractor, _host_by_urlsplit, _host_of, normalise_domain


def library_email(raw: str) -> str | None:
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


EMAILISH = st.text(alphabet="abcXYZ019._%+-@!#'xn--é", min_size=1, max_size=40)
SHAPED = st.builds(  # mostly well-formed addresses, with the edges (lengths, hyphens, reserved names) in reach
    lambda atoms, labels, tld: f"{'.'.join(atoms)}@{'.'.join(labels)}.{tld}",
    st.lists(st.text(alphabet="aZ9_%+-!", min_size=1, max_size=30), min_size=1, max_size=3),
    st.lists(st.text(alphabet="aZ9-", min_size=1, max_size=66), min_size=1, max_size=3),
    st.sampled_from(
        [
            "com",
            "co",
            "c",
            "c1",
            "123",
            "test",
            "local",
            "localhost",
            "onion",
            "arpa",
            "invalid",
            "uk",
            "x" * 64,
            "TEST",
            "Com",
        ]
    ),
)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(EMAILISH, SHAPED))
def test_plain_email_fast_path_agrees_with_email_validator(raw: str) -> None:
    fast = plain_email(raw)
    if fast is not None:  # the fast path may decline anything; whatever it accepts, the library accepts the same way
        assert fast == library_email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "Anna.Smith@Imp1.co.uk",
        "a+b@b.museum",
        "x_y%z@sub.example.org",
        "o'neil@example.com",
        "a@b.test",
        "a@b.c1",
        "ab--c@ab--cd.com",
        ".a@b.com",
        "a.@b.com",
        "a..b@c.com",
        "a@b-.com",
        "a@-b.com",
        "a@b",
        "a" * 65 + "@b.com",
        "a@" + "b" * 64 + ".com",
        "a@" + ".".join(["b" * 63] * 4) + ".com",
        "josé@example.com",
        "a@xn--mnchen-3ya.de",
        "a@münchen.de",
    ],
)
def test_clean_email_matches_the_library_on_edge_cases(raw: str) -> None:
    expected = library_email(raw)
    if expected is None:
        with pytest.raises(ValueError, match="is not valid"):
            clean_email(raw)
    else:
        assert clean_email(raw) == expected


def reference_domain(url: str) -> str | None:
    """normalise_domain as it was before its fast paths: ip_address and the idna codec on every host."""
    host = _host_of(url)
    if not host or "." not in host:
        return None
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    parts = _extractor()(host)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    return ".".join(host.split(".")[-2:])


HOSTISH = st.text(alphabet="ab1.:-[]xé", min_size=0, max_size=70)


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        HOSTISH,
        st.builds(lambda h: f"https://{h}/path", HOSTISH),
        st.sampled_from(
            [
                "1.2.3.4",
                "http://[::1]/",
                "http://[::ffff:1.2.3.4]/",
                "a..b.com",
                "x" * 64 + ".com",
                "münchen.de",
                "www.shop.acme.co.uk",
                "10.0.0.1.nip.io",
            ]
        ),
    )
)
def test_normalise_domain_unchanged_by_its_fast_paths(url: str) -> None:
    assert normalise_domain(url) == reference_domain(url)


URLISH = st.builds(
    lambda scheme, host, rest: f"{scheme}{host}{rest}",
    st.sampled_from(["", "http://", "https://", "HTTPS://", "ftp://", "http:/", "//", " https://", "mailto:"]),
    st.text(alphabet="aZ9.-_:@[]\\é\t \u212a", min_size=0, max_size=30),  # U+212A: a Kelvin sign, K when case-folded
    st.sampled_from(["", "/", "/path?q=1", "?x", "#top", ":8080/", "/a://b", "\\x", " ", "\t/"]),
)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(URLISH, st.text(alphabet="ab.:/?#@[]-\\ \t", max_size=25)))
def test_host_fast_path_agrees_with_urlsplit(url: str) -> None:
    assert _host_of(url) == _host_by_urlsplit(url.strip())


def test_clean_phone_cache_keeps_errors_and_regions_apart() -> None:
    assert clean_phone("020 7946 0000", "GB") == "+442079460000"
    assert clean_phone("(415) 555-2671", "US") == "+14155552671"
    for _ in range(2):  # an error is raised every time, not cached as a value
        with pytest.raises(ValueError, match="not a phone number|wrong number of digits"):
            clean_phone("12", "GB")


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"first_name": "A" * 100, "last_name": "B" * 100}, "first and last name is longer than 200"),
        ({"title": "T" * 201}, "title is longer than 200"),
        ({"city": "C" * 200, "country": "Narnia" * 17}, "location is longer than 300"),
        ({"company": "Co" * 151}, "company is longer than 300"),
    ],
)
def test_long_cells_are_rejected_with_the_field_and_its_limit(cells: dict[str, str], reason: str) -> None:
    values = dict.fromkeys(FIELDS, "") | {"website": "acme.co.uk"} | cells
    with pytest.raises(ValueError, match=reason):
        validate_row(values, default_region="GB")
    ok = dict.fromkeys(FIELDS, "") | {"website": "acme.co.uk"} | {k: v[:99] for k, v in cells.items()}
    assert validate_row(ok, default_region="GB").domain == "acme.co.uk"
