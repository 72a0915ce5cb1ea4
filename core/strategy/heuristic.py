"""The deterministic planner used without an API key: goal parts -> a complete Strategy."""

from __future__ import annotations

import re

from core.strategy.goal_parser import GoalParts, parse_goal
from core.strategy.models import (
    ICP,
    MAX_QUERIES,
    Angle,
    Query,
    RubricFactor,
    Strategy,
)
from core.strategy.places import KNOWN_REGIONS

_NEGATION = re.compile(r"(?:don't|doesn't|do not|does not|no|without|lack|lacking)\b", re.IGNORECASE)
_HAS = re.compile(r"^has\s+", re.IGNORECASE)
_NATIONALITY = re.compile(r"(?:ian|ese|ish|ench|ai|can|ean)$")


def _join(items: tuple[str, ...] | list[str], word: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def balance_weights(factors: list[tuple[str, float]]) -> list[RubricFactor]:
    """Integer weights proportional to ``factors`` that add up to exactly 100 (largest remainder)."""
    total = sum(weight for _name, weight in factors) or 1.0
    raw = [(name, weight * 100 / total) for name, weight in factors]
    floors = [int(value) for _name, value in raw]
    short = 100 - sum(floors)
    by_remainder = sorted(range(len(raw)), key=lambda i: raw[i][1] - floors[i], reverse=True)
    for index in by_remainder[:short]:
        floors[index] += 1
    return [RubricFactor(factor=name, weight=weight) for (name, _v), weight in zip(raw, floors, strict=True)]


_COUNTRY_ABBREVIATIONS = {"UK", "US", "USA", "UAE", "EU"}  # never "plumbers near UK"
# Segments that are not walk-in local businesses: no "near", "opening" or "reviews" queries for them.
_NOT_LOCAL = re.compile(
    r"saas|software|platform|app\b|apps\b|startups?|vendors?|agenc|consult|b2b|manufactur|wholesal|distribut|"
    r"suppliers?|e-?commerce|brands?|online|fertigung|hersteller|zulieferer|fabricant|fabricante|industri",
    re.I,
)
# The query words added to a segment, per goal language; English only for English goals.
_TIERS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("{s} near {p}", "Nearby places and map listings"),
        ("best {s} {p}", "Lists and reviews naming several companies"),
        ("{s} {p} directory", "Directories and association member lists"),
        ("{s} association members {p}", "Trade association member lists"),
        ("{s} {p} contact email", "Sites that publish contact details"),
        ("new {s} opening {p}", "Newly opened businesses"),
        ("{s} {p} reviews", "Review sites naming several companies"),
    ],
    "de": [
        ("{s} Unternehmen {p}", "Firmen-Websites"),
        ("{s} {p} Impressum", "Eigene Websites mit Impressum"),
        ("{s} Firmen {p} Kontakt", "Websites mit Kontaktangaben"),
        ("{s} Betriebe {p}", "Betriebe der Branche"),
        ("{s} {p} Branchenbuch", "Branchenverzeichnisse"),
        ("{s} Verband Mitglieder {p}", "Mitgliederlisten von Verbänden"),
    ],
    "fr": [
        ("entreprise {s} {p}", "Sites des entreprises"),
        ("{s} {p} mentions légales", "Sites propres avec mentions légales"),
        ("{s} {p} contact", "Sites avec coordonnées"),
        ("société {s} {p}", "Sociétés du secteur"),
        ("{s} {p} annuaire", "Annuaires professionnels"),
        ("{s} {p} liste des adhérents", "Listes d'adhérents des fédérations"),
    ],
    "es": [
        ("empresa {s} {p}", "Webs de las empresas"),
        ("{s} {p} aviso legal", "Webs propias con aviso legal"),
        ("{s} {p} contacto", "Webs con datos de contacto"),
        ("empresas de {s} {p}", "Empresas del sector"),
        ("{s} {p} directorio de empresas", "Directorios de empresas"),
        ("{s} {p} asociación socios", "Listas de socios de asociaciones"),
    ],
}
_INDEPENDENT = {
    "en": "independent {s} {p}",
    "de": "{s} inhabergeführt {p}",
    "fr": "{s} indépendant {p}",
    "es": "{s} independiente {p}",
}


def _queries(parts: GoalParts, segments: tuple[str, ...]) -> list[Query]:
    places = parts.locations[:3] or ("",)
    small = parts.company_size.startswith(("small", "1-"))
    # Technologies asked against are checked on the crawled pages, never searched for or against.
    exclusions = parts.exclusions[:3]
    minus = " ".join(f'-"{e}"' if " " in e else f"-{e}" for e in exclusions)
    # Templates in order of expected yield; each is filled for every segment and place first.
    tiers: list[tuple[str, str]] = [("{s} {p}", "Direct: the companies' own websites")]
    searchable = [sig for sig in parts.signals if not _NEGATION.match(sig)]
    tiers += [(f"{{s}} {_HAS.sub('', sig)} {{p}}", f"Signal: {sig}") for sig in searchable[:2]]
    tiers += [(f"{{s}} {need} {{p}}", f"Need: {need}") for need in parts.needs[:1]]
    if minus:
        tiers.append((f"{{s}} {{p}} {minus}", f"Direct, leaving out {_join(parts.exclusions)}"))
    if small:
        tiers.append((_INDEPENDENT[parts.language], "Smaller, owner-run companies"))
    cities = [p for p in parts.locations if p.lower() not in KNOWN_REGIONS and p not in _COUNTRY_ABBREVIATIONS]
    local = not any(_NOT_LOCAL.search(segment) for segment in segments)
    tiers += [
        (template, intent)
        for template, intent in _TIERS[parts.language]
        if local or not template.startswith(("{s} near", "new {s} opening", "{s} {p} reviews"))
    ]
    queries: list[Query] = []
    seen: set[str] = set()
    for template, intent in tiers:
        for segment in segments[:3]:
            for place in places:
                if template in ("{s} near {p}", "new {s} opening {p}") and place not in cities:
                    continue
                text = " ".join(template.format(s=segment, p=place).split())
                if text.lower() not in seen and len(queries) < MAX_QUERIES:
                    seen.add(text.lower())
                    queries.append(Query(text=text, intent=intent))
    return queries


def _criteria(parts: GoalParts, segments: tuple[str, ...]) -> list[str]:
    criteria = [f"The website belongs to one of: {_join(segments, 'or')} (not a directory, marketplace or news site)"]
    if parts.locations:
        criteria.append(f"Based in or serving {_join(parts.locations, 'or')}")
    criteria.extend(f"Shows this signal: {signal}" for signal in parts.signals)
    criteria.extend(signal.criterion for signal in parts.tech_signals)
    if parts.company_size != "any":
        criteria.append(f"Company size looks {parts.company_size}")
    if parts.exclusions:
        criteria.append(f"Is not one of: {_join(parts.exclusions, 'or')}")
    criteria.append("Lists a way to get in touch (email, phone or contact form)")
    return criteria


def _rubric(parts: GoalParts) -> list[RubricFactor]:
    factors: list[tuple[str, float]] = [("Industry match", 35)]
    if parts.locations:
        factors.append(("Location match", 25))
    if parts.signals or parts.needs:
        factors.append(("Signals of fit", 20))
    # "No online booking found": scored on the crawled pages' technologies, with what was looked for
    factors.extend((signal.factor, 20) for signal in parts.tech_signals[:2])
    if parts.company_size != "any":
        factors.append(("Company size fit", 10))
    factors.append(("Reachable contact", 10))
    if parts.exclusions:
        factors.append(("Clear of exclusions", 10))
    return balance_weights(factors)


def _angle(parts: GoalParts, segments: tuple[str, ...]) -> Angle:
    who = _join(segments[:2])
    if parts.offer:
        value = f"Offer {parts.offer} to {who}"
        value += f" who need {_join(parts.needs)}." if parts.needs else ", showing how it fits the way they work."
    elif parts.needs:
        value = f"Help {who} with {_join(parts.needs)}, with a concrete example from a similar business."
    else:
        value = f"Show {who} a specific, relevant way you can help, referencing something from their website."
    tone = (
        "professional and concise"
        if parts.company_size.startswith(("large", "mid"))
        else "friendly, concise, peer-to-peer"
    )
    return Angle(value_proposition=value, tone=tone)


def _summary(parts: GoalParts, segments: tuple[str, ...], query_count: int) -> str:
    size = parts.company_size
    adjective = "" if size == "any" or size[0].isdigit() else f"{size.split(' (')[0]} "
    text = f"Find {adjective}{_join(segments)}"
    if size[0].isdigit():
        text += f" with {size}"
    text += (
        f" in {_join(parts.locations)}"
        if parts.locations
        else " (no location given, so results are not limited by place)"
    )
    if parts.signals:
        text += f" showing these signs of fit: {_join(parts.signals)}"
    if parts.tech_signals:
        text += (" whose websites show " if not parts.signals else "; websites show ") + _join(
            [("no " if not s.present else "") + s.subject for s in parts.tech_signals]
        )
    text += "."
    if parts.exclusions:
        text += f" Leave out {_join(parts.exclusions)}."
    if parts.offer or parts.needs:
        text += f" The pitch centres on {parts.offer or _join(parts.needs)}."
    return text + f" {query_count} web searches, then each site is checked against the criteria and scored."


def _lower_first(segment: str) -> str:
    """'Veterinary clinics' -> 'veterinary clinics'; acronyms and nationalities ('SaaS', 'Italian') stay."""
    first, _, rest = segment.partition(" ")
    if first[:1].isupper() and first[1:].islower() and not _NATIONALITY.search(first.lower()):
        first = first.lower()
    return f"{first} {rest}".strip()


def plan_from_goal(goal: str) -> Strategy:
    """A heuristic strategy from the goal text alone; cost preview left for the caller to fill."""
    parts = parse_goal(goal)
    lower = _lower_first if parts.language != "de" else (lambda segment: segment)  # German nouns keep capitals
    segments = tuple(lower(s) for s in parts.segments) or (" ".join(parts.keywords[:3]) or "businesses",)
    queries = _queries(parts, segments)
    return Strategy(
        summary=_summary(parts, segments, len(queries)),
        icp=ICP(
            industries=list(segments),
            locations=list(parts.locations),
            company_size=parts.company_size,
            keywords=list(parts.keywords),
            signals=list(parts.signals),
            exclusions=list(parts.exclusions),
        ),
        queries=queries,
        criteria=_criteria(parts, segments),
        rubric=_rubric(parts),
        angle=_angle(parts, segments),
        mode="heuristic",
    )
