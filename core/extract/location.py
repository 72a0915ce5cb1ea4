"""Country (ISO 3166-1 alpha-2) and city from the ways people write them: codes, names, addresses.

Country names come from pycountry's ISO 3166 data and its translations (English plus the languages LeadScout's
users write addresses in), so "Deutschland", "Allemagne", "Germany", "DE" and "DEU" are all DE. A few everyday
names that ISO does not list ("UK", "England", "Holland", "USA") are added below. Pure functions, no database:
the CSV check workers, extraction, the lead filter and the migration's backfill all call them.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import pycountry

# Languages whose country names are accepted besides English (pycountry ships their gettext catalogues).
LANGUAGES = ("de", "fr", "es", "it", "nl", "pt")
# Everyday names ISO 3166 does not list; each maps to the code ISO gives the country.
COMMON_ALIASES = {
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "us": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "the netherlands": "NL",
    "south korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "turkey": "TR",
    "czech republic": "CZ",
    "ivory coast": "CI",
    "vietnam": "VN",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "macedonia": "MK",
    "uae": "AE",
}


def _fold(text: str) -> str:
    """Lower case, accents dropped, spaces squashed: "  Österreich " -> "osterreich"."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Every accepted way of writing a country, folded, to its alpha-2 code (built once per process)."""
    names: dict[str, str] = {}
    countries = list(pycountry.countries)
    for country in countries:
        names[country.alpha_2.lower()] = country.alpha_2
        names[country.alpha_3.lower()] = country.alpha_2
    for country in countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                names.setdefault(_fold(value), country.alpha_2)
    locales = Path(pycountry.__file__).parent / "locales"
    for language in LANGUAGES:
        try:
            translation = gettext.translation("iso3166-1", str(locales), languages=[language])
        except OSError:  # a pycountry build without that catalogue: English names still work
            continue
        for country in countries:
            for attr in ("name", "common_name", "official_name"):
                value = getattr(country, attr, None)
                if value:
                    names.setdefault(_fold(translation.gettext(value)), country.alpha_2)
    for alias, code in COMMON_ALIASES.items():
        names.setdefault(_fold(alias), code)
    return names


def load_tables() -> None:
    """Build the country-name and state tables now rather than on the first address read (once per process)."""
    _names()
    _states()


@lru_cache(maxsize=4096)
def country_code(text: str) -> str:
    """The ISO alpha-2 code ``text`` names ("UK", "gb", "United Kingdom", "Deutschland" ...), or ''."""
    folded = _fold(text).strip(" .,;")
    if not folded or len(folded) > 80:
        return ""
    return _names().get(folded) or _names().get(folded.removeprefix("the ")) or ""


def country_name(code: str) -> str:
    """The English short name of an alpha-2 code ("DE" -> "Germany"), or the code itself when unknown."""
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    return getattr(country, "common_name", None) or getattr(country, "name", None) or code


# "10115 Berlin", "75002 Paris", "D-10115 Berlin", "1010 Wien", "1012 AB Amsterdam", "00184 Roma RM"
_POSTCODE_CITY = re.compile(
    r"(?:^|\s)(?:[A-Z]{1,2}-)?\d{4,5}(?:\s?[A-Z]{2}(?=\s))?\s+(?P<city>[^\d,;|/]{2,60}?)\s*(?:\b[A-Z]{2}\b)?\s*$"
)
# a UK postcode, with the town before it in the same part ("London NW1 6XE") or in the part before
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
# "Portland, OR 97201", "Toronto, ON M5V 2T6", "Austin, TX"
_STATE_ZIP = re.compile(r"^[A-Z]{2}(?:\s+(?:\d{5}(?:-\d{4})?|[A-Z]\d[A-Z]\s?\d[A-Z]\d))?$")
_HAS_DIGIT = re.compile(r"\d")
_STREET = re.compile(
    r"\b(?:rue|avenue|av\.|boulevard|bd|chemin|quai|calle|avenida|plaza|via|viale|piazza|street|st\.|road|rd\.|"
    r"lane|way|square|straße|strasse|str\.|weg|platz|allee|gasse)\b|(?:straße|strasse|weg|gasse|platz)$",
    re.IGNORECASE,
)
_TRAILING_REGION = re.compile(r"\s+\(?[A-Z]{2}\)?$")  # "Roma RM", "Lyon (69)" is caught by the digit rule


def _clean_city(text: str) -> str:
    city = " ".join(text.replace("\u00a0", " ").split()).strip(" -–,.;")
    city = re.sub(r"^(?:cedex\s+)?", "", city, flags=re.I)
    city = re.sub(r"\s+cedex(?:\s+\d+)?$", "", city, flags=re.I)
    return city[:120] if city and not _HAS_DIGIT.search(city) and not country_code(city) else ""


@lru_cache(maxsize=1)
def _states() -> dict[str, str]:
    """US state and Canadian province codes ("OR", "ON") to their country, from pycountry's ISO 3166-2 data."""
    out: dict[str, str] = {}
    for country in ("CA", "US"):
        for subdivision in pycountry.subdivisions.get(country_code=country) or ():
            out[subdivision.code.split("-", 1)[1]] = country
    return out


def _state_country(part: str, country_hint: str) -> str:
    """The country of a "state zip" part ("OR 97201", "ON M5V 2T6", "CA"), or '' when it is not one.

    A bare two-letter part that is also a country code ("DE", "CA", "IN") is a state only when the rest of the
    address or the hint does not make it the country: "Wilmington, DE 19801" is Delaware, "Berlin, DE" with a
    German hint is Germany."""
    if not _STATE_ZIP.match(part):
        return ""
    state_country = _states().get(part[:2], "")
    if not state_country:
        return ""
    if len(part) == 2 and country_hint and country_code(part) == country_hint.upper():
        return ""
    return state_country


def split_location(text: str, country_hint: str = "") -> tuple[str, str]:
    """(country code, city) read from an address or a place name; '' for what it does not say.

    "Hauptstraße 5, 10115 Berlin, Germany" -> ("DE", "Berlin"); "12 Rue de la Paix, 75002 Paris" -> ("", "Paris");
    "221B Baker Street, London NW1 6XE" -> ("", "London"); "Portland, OR 97201" -> ("US", "Portland");
    "Berlin" -> ("", "Berlin"); "UK" -> ("GB", ""). ``country_hint`` is returned as the country when the text
    names none (it is never checked against the text).
    """
    parts = [p.strip() for p in re.split(r"[,;\n|]", text or "") if p.strip()]
    country = ""
    if parts and not _state_country(parts[-1], country_hint) and (code := country_code(parts[-1])):
        country = code
        parts = parts[:-1]
    city = ""
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        if state_country := _state_country(part, country_hint):
            country = country or state_country
            if index and (city := _clean_city(parts[index - 1])):
                break
            continue
        match = _UK_POSTCODE.search(part)
        if match and not re.search(r"\d{4,5}\s", part):
            city = _clean_city(part[: match.start()]) or (_clean_city(parts[index - 1]) if index else "")
            country = country or "GB"
            if city:
                break
            continue
        match = _POSTCODE_CITY.search(part)
        if match and (city := _clean_city(_TRAILING_REGION.sub("", match.group("city")))):
            break
    if not city and parts and not any(_HAS_DIGIT.search(p) for p in parts) and len(parts) <= 3:
        # no postcode anywhere: a bare place name ("Berlin", "Leeds, West Yorkshire") is taken as the city
        city = next((_clean_city(p) for p in parts if not _STREET.search(p)), "")
    country = country or (country_hint.upper() if len(country_hint) == 2 else "")
    return country, city
