"""One CSV row validated: domain normalised, email syntax (email-validator), phone to E.164."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.extract.emails import is_role_address
from core.search.candidates import normalise_domain

FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "hotmail.co.uk", "outlook.com",
    "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "gmx.de", "gmx.net", "web.de", "proton.me",
    "protonmail.com", "yandex.ru", "mail.ru", "qq.com", "163.com", "t-online.de", "orange.fr", "free.fr", "btinternet.com",
})


class ValidRow(BaseModel):
    """A row that passed validation, ready to become (or update) a lead and its contacts."""

    model_config = ConfigDict(frozen=True)

    domain: str = Field(max_length=255)
    website: str = Field(max_length=2048)
    company: str = Field(max_length=300)
    email: str = Field(default="", max_length=320)
    email_is_role: bool = False
    phone: str = Field(default="", max_length=32)
    person_name: str = Field(default="", max_length=200)
    person_title: str = Field(default="", max_length=200)
    location: str = Field(default="", max_length=300)
    country: str = Field(default="", max_length=2)
    industry: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=20_000)
    tags: tuple[str, ...] = ()


@lru_cache(maxsize=65536)
def _domain(url: str) -> str | None:
    return normalise_domain(url if "://" in url else f"https://{url}")


def clean_email(raw: str, *, check_dns: bool = False) -> str:
    """The normalised address; ``ValueError`` with the reason when the syntax is wrong."""
    try:
        return validate_email(raw, check_deliverability=check_dns).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"email '{raw[:80]}' is not valid: {exc}") from exc


def clean_phone(raw: str, region: str) -> str:
    """The number in E.164 ("+442079460000"); ``ValueError`` when it cannot be a phone number."""
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone '{raw[:40]}' is not a phone number ({exc})") from exc
    if not phonenumbers.is_possible_number(number) or len(str(number.national_number)) < 6:
        raise ValueError(f"phone '{raw[:40]}' has the wrong number of digits for {region.upper() or 'its country'}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_row(values: dict[str, str], *, default_region: str, check_dns: bool = False) -> ValidRow:
    """A ``ValidRow`` from mapped cell values; ``ValueError`` with a reason a person can act on."""
    email = clean_email(values["email"], check_dns=check_dns) if values["email"] else ""
    phone = clean_phone(values["phone"], default_region) if values["phone"] else ""
    website = values["website"]
    domain = _domain(website.strip().lower()) if website else None
    if website and domain is None:
        raise ValueError(f"website '{website[:80]}' is not a company web address")
    if domain is None and email:
        email_domain = email.rsplit("@", 1)[1]
        if email_domain in FREE_MAIL:
            raise ValueError(f"no website, and {email_domain} is a free-mail provider, not the company's domain")
        domain = _domain(email_domain)
    if domain is None:
        raise ValueError("needs a website or a company email address to know which company it is")
    country, city = values["country"], values["city"]
    code = country.upper() if len(country) == 2 and country.isalpha() else ""
    location = ", ".join(p for p in (city, "" if code else country) if p)
    tags = tuple(dict.fromkeys(t.strip()[:64] for t in values["tags"].replace(";", ",").split(",") if t.strip()))
    try:
        return ValidRow(
            domain=domain, website=website if "://" in website or not website else f"https://{website}",
            company=values["company"] or domain, email=email, email_is_role=bool(email) and is_role_address(email),
            phone=phone, person_name=" ".join(p for p in (values["first_name"], values["last_name"]) if p),
            person_title=values["title"], location=location, country=code, industry=values["industry"],
            notes=values["notes"], tags=tags,
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        raise ValueError(f"{field.replace('_', ' ')}: {problem['msg']}") from exc


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
