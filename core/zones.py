"""Time zones from the maintained data LeadScout already ships: tzdata's zone table and phonenumbers.

One place for "where is this company or recipient, in clock terms": the extractor picks a site's
zone from it, the sending window checks every zone a recipient may be in.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_zones


@lru_cache(maxsize=1)
def _zone_table() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """tzdata's zone.tab: each country's zones, most populous first, and the zones whose comment
    says they cover most of their country ("most of Germany", "Spain (mainland)")."""
    zones: dict[str, list[str]] = {}
    principal: set[str] = set()
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            zones.setdefault(parts[0].upper(), []).append(parts[2])
            comment = parts[3] if len(parts) > 3 else ""
            if comment.startswith("most of ") or comment.endswith("(mainland)"):
                principal.add(parts[2])
    return {code: tuple(names) for code, names in zones.items()}, frozenset(principal)


def country_zones(country: str) -> tuple[str, ...]:
    """Every IANA zone of an ISO 3166 country code (tzdata's zone.tab), or () when unknown."""
    return _zone_table()[0].get(country.upper(), ()) if country else ()


def phone_zones_of(phone: str, country: str = "") -> tuple[str, ...]:
    """The zones phonenumbers gives for a number (by its prefix), or () when it gives none."""
    if not phone:
        return ()
    try:
        parsed = phonenumbers.parse(phone, country.upper() or None)
    except phonenumbers.NumberParseException:
        return ()
    return tuple(z for z in phone_zones.time_zones_for_number(parsed) if z != "Etc/Unknown")


def zone_named(name: str) -> ZoneInfo | None:
    """The ZoneInfo for a name, or None for an empty or unknown name."""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zones_named_in(zones: tuple[str, ...], text: str) -> list[str]:
    """The zones whose city ("Los_Angeles" → "los angeles") the text names."""
    lowered = text.lower()
    return [z for z in zones if z.rsplit("/", 1)[-1].replace("_", " ").lower() in lowered]


def single_zone(*, country: str, phones: tuple[str, ...] | list[str] = (), address: str = "") -> str:
    """The one zone a company is in, when the data says so; "" when it stays ambiguous.

    In order: a phone whose prefix has one zone (a US area code), a zone city the address names,
    the country's only zone, or its zone for "most of" the country (Berlin, not Büsingen)."""
    for phone in phones:
        zones = phone_zones_of(phone, country)
        if len(zones) == 1:
            return zones[0]
    zones = country_zones(country)
    named = zones_named_in(zones, address)
    if named:
        return named[0]
    if len(zones) == 1 or (zones and zones[0] in _zone_table()[1]):
        return zones[0]
    return ""
