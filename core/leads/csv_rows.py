"""One CSV row validated: domain normalised, email syntax (email-validator), phone to E.164."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from core.extract.emails import is_role_address, plain_email
from core.extract.location import country_code, split_location
from core.leads.csv_phones import fast_e164
from core.leads.csv_read import field_positions, values_at
from core.outreach.consent_answer import parse_consent
from core.search.candidates import normalise_domain

if TYPE_CHECKING:
    from core.leads.csv_worker import Checkers

FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "hotmail.com",
        "hotmail.co.uk",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "btinternet.com",
    }
)


class ValidRow(NamedTuple):
    """A row that passed validation, ready to become (or update) a lead and its contacts."""

    domain: str
    website: str
    company: str
    email: str = ""
    email_is_role: bool = False
    phone: str = ""
    person_name: str = ""
    person_title: str = ""
    location: str = ""
    country: str = ""  # ISO 3166-1 alpha-2, from the country cell (names and aliases too) or the address
    city: str = ""
    industry: str = ""
    notes: str = ""
    tags: tuple[str, ...] = ()
    sms_consent: bool | None = None  # the phone's SMS consent: given, refused, or not said (blank)
    consent_source: str = ""


CONSENT_SOURCE = "CSV import"  # the source recorded when a row says yes without saying where from
# the longest value each column of the lead and contact tables takes
MAX_LENGTH = {
    "domain": 255,
    "website": 2048,
    "company": 300,
    "email": 320,
    "phone": 32,
    "person_name": 200,
    "person_title": 200,
    "location": 300,
    "country": 2,
    "city": 120,
    "industry": 200,
    "notes": 20_000,
    "consent_source": 200,
}
LABELS = {"person_name": "first and last name", "person_title": "title"}


@lru_cache(maxsize=65536)
def _domain(url: str) -> str | None:
    return normalise_domain(url if "://" in url else f"https://{url}")


def clean_email(raw: str, *, check_dns: bool = False) -> str:
    """The normalised address; ``ValueError`` with the reason when the syntax is wrong."""
    if not check_dns and (plain := plain_email(raw)) is not None:
        return plain
    try:
        return validate_email(raw, check_deliverability=check_dns).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"email '{raw[:80]}' is not valid: {exc}") from exc


@lru_cache(maxsize=65536)  # a switchboard number repeats on every row of its company
def clean_phone(raw: str, region: str) -> str:
    """The number in E.164 ("+442079460000"); ``ValueError`` when it cannot be a phone number."""
    if (fast := fast_e164(raw, region)) is not None:  # the plain shapes, 10x quicker, same answers
        return fast
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE and not region:
            raise ValueError(_no_country(raw)) from exc
        raise ValueError(f"phone '{raw[:40]}' is not a phone number ({exc})") from exc
    if not phonenumbers.is_possible_number(number) or len(str(number.national_number)) < 6:
        raise ValueError(f"phone '{raw[:40]}' has the wrong number of digits for {region.upper() or 'its country'}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _no_country(raw: str) -> str:
    return (
        f"phone '{raw[:40]}' has no country code and the row no country, so it could be any country's number: "
        "add a country column, write the number with + and its country code, or choose the country of such numbers"
    )


def row_phone(raw: str, row_country: str, default_region: str) -> str:
    """The row's phone in E.164, read in the row's own country; the import's default region only for rows that
    name no country, and then only a number valid there (a number it merely fits, like "030 1234567" read as
    American, is ambiguous and flagged with a reason, never guessed)."""
    if row_country:
        return clean_phone(raw, row_country)
    e164 = clean_phone(raw, default_region)
    if default_region and not raw.lstrip().startswith("+"):
        number = phonenumbers.parse(e164)
        if not phonenumbers.is_valid_number(number):
            raise ValueError(
                f"phone '{raw[:40]}' is not a valid {default_region.upper()} number and the row names no country: "
                "add a country column or write the number with + and its country code"
            )
    return e164


# When no cell is longer than this, no field built from the cells can pass its MAX_LENGTH (the longest,
# "first last" and "city, country", are two cells and a separator), so the per-field check is skipped.
_SHORT_CELL = 99


def _consent(raw: str, source: str) -> tuple[bool | None, str]:
    """(consent, its source) from the sms_consent and consent_source cells; ``ValueError`` for a bad answer."""
    given = parse_consent(raw) if raw else None
    return given, (" ".join(source.split()) or CONSENT_SOURCE) if given else ""


def validate_row(values: dict[str, str], *, default_region: str, check_dns: bool = False) -> ValidRow:
    """A ``ValidRow`` from mapped cell values; ``ValueError`` with a reason a person can act on."""
    email = clean_email(values["email"], check_dns=check_dns) if values["email"] else ""
    country_cell, city_cell = values["country"], values["city"]
    code = country_code(country_cell) if country_cell else ""
    # the city cell is often a whole address ("Hauptstr. 5, 10115 Berlin, Germany"): its city, and its country
    # when the row has no country cell
    address_country, city = split_location(city_cell, code) if city_cell else (code, "")
    code = code or address_country
    phone = row_phone(values["phone"], code, default_region) if values["phone"] else ""
    website = values["website"]
    domain = _domain(website.lower()) if website else None
    if website and domain is None:
        raise ValueError(f"website '{website[:80]}' is not a company web address")
    if domain is None and email:
        email_domain = email.rsplit("@", 1)[1]
        if email_domain in FREE_MAIL:
            raise ValueError(f"no website, and {email_domain} is a free-mail provider, not the company's domain")
        domain = _domain(email_domain)
    if domain is None:
        raise ValueError("needs a website or a company email address to know which company it is")
    first, last, tags = values["first_name"], values["last_name"], values["tags"]
    # a country cell that names no known country stays readable in the location
    unknown_country = country_cell if country_cell and not country_code(country_cell) else ""
    row = ValidRow(
        domain,
        website if not website or "://" in website else f"https://{website}",
        values["company"] or domain,
        email,
        bool(email) and is_role_address(email),
        phone,
        f"{first} {last}" if first and last else first or last,
        values["title"],
        f"{city_cell}, {unknown_country}" if city_cell and unknown_country else city_cell or unknown_country,
        code,
        city,
        values["industry"],
        values["notes"],
        tuple(dict.fromkeys(t.strip()[:64] for t in tags.replace(";", ",").split(",") if t.strip())) if tags else (),
        *_consent(values.get("sms_consent", ""), values.get("consent_source", "")),
    )
    if max(map(len, values.values())) > _SHORT_CELL:
        for name, limit in MAX_LENGTH.items():
            if len(getattr(row, name)) > limit:
                raise ValueError(f"{LABELS.get(name, name)} is longer than {limit:,} characters")
    return row


def validate_rows(
    rows: list[tuple[int, dict[str, str]]], *, default_region: str, check_dns: bool = False
) -> list[tuple[int, ValidRow | str]]:
    """(row number, ValidRow or the reason it was rejected) for each row; run in worker processes for big files."""
    out: list[tuple[int, ValidRow | str]] = []
    for number, values in rows:
        try:
            out.append((number, validate_row(values, default_region=default_region, check_dns=check_dns)))
        except ValueError as error:
            out.append((number, str(error)))
    return out


PARALLEL_MIN_ROWS = 20_000  # below this, starting processes costs more than it saves
CHUNK_ROWS = 5_000


def chunk_bounds(rows: int) -> list[tuple[int, int]]:
    """(start, end) of each chunk: the first ones small, so the first rows are saved (and reported)
    while the rest are still being checked; then CHUNK_ROWS each."""
    bounds: list[tuple[int, int]] = []
    start, size = 0, max(1, CHUNK_ROWS // 5)
    while start < rows:
        bounds.append((start, min(start + size, rows)))
        start, size = start + size, min(size * 2, CHUNK_ROWS)
    return bounds


def check_chunk(
    headers: tuple[str, ...],
    mapping: dict[str, str | None],
    rows: list[tuple[int, tuple[str, ...]]],
    default_region: str,
    check_dns: bool,
) -> list[tuple[int, ValidRow | str]]:
    positions = field_positions(headers, mapping)
    return validate_rows(
        [(n, values_at(row, positions)) for n, row in rows], default_region=default_region, check_dns=check_dns
    )


def check_chunks(
    headers: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    mapping: dict[str, str | None],
    *,
    default_region: str,
    check_dns: bool = False,
    processes: int = 1,
    checkers: Checkers | None = None,
) -> Generator[list[tuple[int, ValidRow | str]], None, None]:
    """Map and validate every row (numbered from 1), yielding chunks of checked rows in file order.

    Validation is pure CPU (phone metadata, the public-suffix list), so a big file's chunks are
    checked ahead by ``processes`` worker processes (``core.leads.csv_worker``) while the caller
    saves the chunks already checked. ``checkers`` are workers started ahead by the caller (they are
    stopped when this ends, used or not). Closing the iterator early stops the workers.
    """
    numbered = list(enumerate(rows, start=1))
    chunks = [(headers, mapping, numbered[a:b], default_region, check_dns) for a, b in chunk_bounds(len(numbered))]
    if len(numbered) >= PARALLEL_MIN_ROWS and (checkers is not None or processes > 1):
        # imported here: csv_worker imports this module (its processes load only the row checks)
        from core.leads.csv_worker import Checkers

        yield from (checkers or Checkers(min(processes, len(chunks)))).check(chunks)
        return
    if checkers is not None:
        checkers.close()  # too few rows to be worth the workers started ahead
    for chunk in chunks:
        yield check_chunk(*chunk)
