"""A small gazetteer: countries and regions recognised even when typed in lower case."""

from __future__ import annotations

import re

COUNTRIES = (
    "Argentina Australia Austria Belgium Brazil Bulgaria Canada Chile China Colombia Croatia Cyprus Denmark "
    "Egypt Estonia Finland France Germany Ghana Greece Hungary Iceland India Indonesia Ireland Israel Italy "
    "Japan Kenya Latvia Lithuania Luxembourg Malaysia Malta Mexico Morocco Netherlands Nigeria Norway Pakistan "
    "Peru Philippines Poland Portugal Romania Scotland Wales England Singapore Slovakia Slovenia Spain Sweden "
    "Switzerland Thailand Turkey Ukraine Uruguay Vietnam"
).split() + [
    "New Zealand",
    "South Africa",
    "South Korea",
    "Czech Republic",
    "United Kingdom",
    "United States",
    "United Arab Emirates",
    "Northern Ireland",
    "Saudi Arabia",
    "Costa Rica",
    "Hong Kong",
]
US_STATES = (
    "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii Idaho "
    "Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota "
    "Mississippi Missouri Montana Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania Tennessee Texas Utah "
    "Vermont Virginia Washington Wisconsin Wyoming"
).split() + [
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "West Virginia",
]
OTHER_REGIONS = [
    "Ontario",
    "Quebec",
    "Alberta",
    "British Columbia",
    "Manitoba",
    "Nova Scotia",
    "Queensland",
    "Victoria",
    "New South Wales",
    "Tasmania",
    "Bavaria",
    "Catalonia",
    "Andalusia",
    "Lombardy",
    "Tuscany",
    "Flanders",
    "Europe",
    "Scandinavia",
    "the Nordics",
    "the Midwest",
    "the Bay Area",
    "Latin America",
    "Southeast Asia",
]
ABBREVIATIONS = {
    "uk": "UK",
    "us": "US",
    "usa": "USA",
    "uae": "UAE",
    "eu": "EU",
    "nyc": "NYC",
    "la": "LA",
    "dach": "DACH",
}

KNOWN_REGIONS = {name.lower() for name in (*COUNTRIES, *US_STATES, *OTHER_REGIONS)}

# Capitalised words that follow "in" without being places ("in SaaS", "in Shopify").
NOT_PLACES = {
    "B2B",
    "B2C",
    "AI",
    "IT",
    "HR",
    "SEO",
    "CRM",
    "ERP",
    "API",
    "Shopify",
    "WordPress",
    "Google",
    "Amazon",
    "Etsy",
    "Instagram",
    "Facebook",
    "LinkedIn",
    "TikTok",
    "Yelp",
    "English",
    "Spanish",
    "French",
    "German",
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "January",
    "February",
    "March",
    "April",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "I",
    "We",
    "My",
    "Our",
}

_LOWER_NAMES = sorted(
    (
        (name.lower().removeprefix("the "), name.removeprefix("the "))
        for name in (*COUNTRIES, *US_STATES, *OTHER_REGIONS)
    ),
    key=lambda pair: -len(pair[0]),
)


def match_known_place(text: str) -> tuple[str, int] | None:
    """A gazetteer name at the start of ``text`` in any case: (proper name, characters used)."""
    lowered = text.lower()
    for low, proper in _LOWER_NAMES:
        if lowered.startswith(low) and not re.match(r"\w", lowered[len(low) : len(low) + 1]):
            return proper, len(low)
    word = re.match(r"[a-z]+", lowered)
    if word and word.group(0) in ABBREVIATIONS and text[: word.end()] in (word.group(0), word.group(0).upper()):
        return ABBREVIATIONS[word.group(0)], word.end()
    return None
