"""Reads a plain-English goal into parts: segments, places, size, signals, needs, exclusions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.strategy.places import KNOWN_REGIONS, NOT_PLACES, match_known_place
from core.strategy.tech_goals import TechSignal, classify, presence_signals

_CAP = r"[A-ZÀ-ÞŁŚŻ][\w'’.&-]*"
_JOIN = r"(?:de|del|da|di|do|dos|am|an|upon|on|la|le|les|of|sur|im|y|el)"
_PLACE = rf"{_CAP}(?:[ -](?:{_JOIN}[ -])?{_CAP})*"
_LOC_TRIGGER = re.compile(
    r"\b(?:based in|located in|headquartered in|within \d+ ?(?:miles|mi|km|kilometers) of|close to|"
    r"in|near|around|across|throughout|from|im|bei|à|au|aux|en|dans)\s+(?:the\s+|der\s+|la\s+|le\s+|el\s+)?",
    re.IGNORECASE,
)
_EXCLUSION = re.compile(
    r"(?:\bbut\s+)?\b(?:excluding|exclude|except(?:\s+for)?|not including|other than|without|not|no|"
    r"keine[nmrs]?|ohne|nicht|außer|ausgenommen|sans|sauf|pas de|hors|sin|excepto|salvo)\s+"
    r"(?P<what>.+?)(?=\s*[.;!?]|\s*,\s*(?:in|near|around|that|who|which|with|and|but)\b|"
    r"\s+(?:in|near|around|that|who|which)\s+(?:the\s+)?(?-i:[A-Z])|$)",
    re.IGNORECASE,
)
_SIZE_RANGE = re.compile(r"(\d[\d,]*)\s*(?:-|–|to)\s*(\d[\d,]*)\s*(?:employees|staff|people|persons?)", re.I)
_SIZE_MAX = re.compile(
    r"\b(?:under|fewer than|less than|up to|below|at most)\s+(\d[\d,]*)\s*(?:employees|staff|people)", re.I
)
_SIZE_MIN = re.compile(
    r"\b(?:over|more than|at least|above)\s+(\d[\d,]*)\s*(?:employees|staff|people)|(\d[\d,]*)\+\s*(?:employees|staff|people)",
    re.I,
)
_SIZE_WORDS = (
    (
        "small (1-50 employees)",
        r"small|independent|independently owned|family[- ]owned|family[- ]run|boutique|"
        r"local|solo|one-person|owner-operated|startups?|smbs?|small businesses",
    ),
    ("mid-sized (50-500 employees)", r"mid-sized|mid-size|midsize|medium-sized|medium|mid-market|growing"),
    ("large (500+ employees)", r"large|enterprise|enterprises|big|multinational|fortune 500|global"),
)
_OFFER = re.compile(
    r"\b(?:we|i|our company|my company)\s+(?:sell|offer|provide|make|build|supply|manufacture|distribute|do)\s+"
    r"(?P<offer>.+?)\s+(?:to|for)\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
_OFFER_VERB = re.compile(
    r"^(?:to\s+)?(?:sell|selling|offer|offering|pitch|pitching)\s+(?P<offer>.+?)\s+to\s+(?P<rest>.+)$", re.I
)
_NEED = re.compile(
    r"(?:\b(?:that|who|which)\s+(?:(?:might|may|could|would|probably|likely|already)\s+)?|"
    r"\b(?:might|may|could|would|probably|likely)\s+)"
    r"(?:need|needs|want|wants|are looking for|is looking for|look for|are interested in|is interested in)\s+"
    r"(?P<need>.+?)(?=\s*[.;,]|\s+and\s+|$)"
    r"|\b(?:in need of|interested in)\s+(?P<need2>.+?)(?=\s*[.;,]|\s+and\s+|$)",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(
    r"^(?:please\s+|help me\s+|help us\s+|can you\s+|i'?d like to\s+|we'?d like to\s+|i (?:want|need) to\s+|"
    r"we (?:want|need) to\s+|i(?:'m| am) looking for\s+|we(?:'re| are) looking for\s+|looking for\s+|"
    r"find(?: me| us)?\s+|get(?: me| us)?\s+|show(?: me)?\s+|list\s+|search for\s+|look for\s+|target(?:ing)?\s+|"
    r"reach(?: out to)?\s+|contact\s+|sell to\s+|prospect(?:ing)?\s+|generate\s+|build\s+|"
    r"(?:b2b\s+)?(?:sales\s+)?leads?\s+(?:for|among|from|at|in)\s+|(?:a\s+)?list of\s+|contacts? at\s+|"
    r"(?:new\s+)?(?:customers|clients)\s+(?:among|like)\s+|some\s+|all\s+|the\s+|an?\s+|more\s+)",
    re.IGNORECASE,
)
_SEGMENT_END = re.compile(
    r"\s*[,.;:!?()]|\s+(?:in|near|around|across|throughout|within|based|located|headquartered|that|who|which|"
    r"whose|where|with|using|use|selling|offering|running|hiring|needing|looking|interested|to|for|from|"
    r"outside|but|excluding|except|without|not|so|because|who's|that's|still|on|"
    r"im|bei|keine[nmrs]?|ohne|mit|à|au|aux|en|sans|avec|pour|sin|con|para)\b",
    re.IGNORECASE,
)
_SIGNAL = re.compile(
    r"\b(?P<verb>that|who|which|with|using|selling|offering|running|hiring)\s+(?P<clause>.+?)"
    r"(?=\s*[.;,]|\s+(?:in|near|around)\s+(?:the\s+)?(?-i:[A-Z])|\s+(?:but|excluding|except|with|using|that|who|which)\s|$)",
    re.IGNORECASE,
)
_FOREIGN_ARTICLES = re.compile(r"^(?:les|des|los|las|der|den|dem)\s+", re.I)  # "sauf les franchises"
_MODALS = re.compile(r"^(?:might|may|could|would|probably|likely|already|also|currently|actively)\s+", re.I)
_ARTICLES = re.compile(r"^(?:a|an|the|any|some|all)\s+", re.I)
_STOPWORDS = set(
    "a an the and or of in on at for to with that who which near around any some all their our my we i you "
    "they them is are be been might may could would need needs want wants like such as by from into not no "
    "excluding except without but find get looking companies company businesses business has have having "
    "don't doesn't do does than using use uses sell sells selling fewer more less employees staff people".split()
)


@dataclass(frozen=True)
class GoalParts:
    """What the heuristic planner understood from a goal."""

    segments: tuple[str, ...]
    locations: tuple[str, ...]
    company_size: str
    signals: tuple[str, ...]
    needs: tuple[str, ...]
    offer: str
    exclusions: tuple[str, ...]
    keywords: tuple[str, ...]
    tech_signals: tuple[TechSignal, ...] = ()
    language: str = "en"


def _split_items(text: str) -> list[str]:
    items = re.split(r"\s*(?:,|;|/|&|\band\b|\bor\b|\bnor\b)\s*", text, flags=re.IGNORECASE)
    items = [_FOREIGN_ARTICLES.sub("", _ARTICLES.sub("", item)) for item in items]
    return [item.strip(" .'\"") for item in items if item and item.strip(" .'\"")]


def _unique(values: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        value = " ".join(value.split())
        if value and value.lower() not in seen:
            seen[value.lower()] = value
    return tuple(seen.values())


def find_exclusions(text: str) -> tuple[tuple[str, ...], str]:
    """Exclusions after not/no/excluding/except/without, and the goal with those clauses removed."""
    found: list[str] = []
    kept: list[str] = []
    position = 0
    for match in _EXCLUSION.finditer(text):
        what = match.group("what")
        if re.match(r"(?:only|just|sure|too|more|less|bigger|smaller|yet|necessarily)\b", what, re.I):
            continue
        found.extend(_split_items(what))
        kept.append(text[position : match.start()])
        position = match.end()
    kept.append(text[position:])
    return _unique(found), " ".join("".join(kept).split())


def _clean_place(place: str) -> str | None:
    place = place.strip(" ,")
    if place.endswith(".") and place.count(".") == 1:
        place = place[:-1]
    words = place.split()
    if not words or any(any(c.isdigit() for c in w) for w in words):
        return None
    if any(w.strip(",") in NOT_PLACES for w in words):
        return None
    if any(re.search(r"[a-z][A-Z]", w) and not w.startswith(("Mc", "Mac", "De")) for w in words):
        return None  # camelCase: SaaS, HubSpot, WooCommerce
    return place


def _places_at(text: str) -> list[str]:
    found: list[str] = []
    rest = text
    while True:
        known = match_known_place(rest)
        match = re.match(_PLACE, rest)
        if match and (known is None or match.end() > known[1]):
            place, length = match.group(0), match.end()
        elif known is not None:
            place, length = known
        else:
            break
        region = re.match(rf",\s*(?:[A-Z]{{2}}\b|{_CAP}(?: {_CAP})?)", rest[length:])
        if region and (len(region.group(0).strip(", ")) == 2 or region.group(0).strip(", ").lower() in KNOWN_REGIONS):
            place, length = place + ", " + region.group(0).strip(", "), length + region.end()
        cleaned = _clean_place(place)
        if cleaned is None:
            break
        found.append(cleaned)
        more = re.match(r"\s*(?:,\s*(?:and|or)?|\band\b|\bor\b|&|/)\s*(?:the\s+)?", rest[length:], re.I)
        if not more:
            break
        rest = rest[length + more.end() :]
    return found


def find_locations(text: str) -> tuple[str, ...]:
    """Places named after in/near/around (and similar), as written; lists like "X, Y and Z" split."""
    found: list[str] = []
    for trigger in _LOC_TRIGGER.finditer(text):
        found.extend(_places_at(text[trigger.end() :]))
    return _unique(found)


def find_company_size(text: str) -> str:
    """A company-size phrase from numeric ranges or words like small, mid-sized, enterprise."""
    if match := _SIZE_RANGE.search(text):
        return f"{match.group(1)}-{match.group(2)} employees"
    if match := _SIZE_MAX.search(text):
        return f"1-{match.group(1)} employees"
    if match := _SIZE_MIN.search(text):
        return f"{match.group(1) or match.group(2)}+ employees"
    for label, words in _SIZE_WORDS:
        if re.search(rf"\b(?:{words})\b", text, re.IGNORECASE):
            return label
    return "any"


def _strip_lead_in(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _LEAD_IN.sub("", text, count=1)
    return text


def find_segments(text: str) -> tuple[str, ...]:
    """The kinds of business the goal targets ("coffee roasters", "dentists")."""
    text = _strip_lead_in(text.strip())
    end = _SEGMENT_END.search(text)
    phrase = text[: end.start()] if end else text
    size_words = "|".join(words for _label, words in _SIZE_WORDS)
    segments = []
    for item in _split_items(phrase):
        item = re.sub(
            rf"^(?:(?:{size_words}|b2b|new|potential|possible|good|great|top|best)\b[\s,-]*)+", "", item, flags=re.I
        )
        if item and item.lower() not in _STOPWORDS:
            segments.append(item)
    return _unique(segments)


def _signals_and_needs(text: str) -> tuple[list[str], list[str]]:
    needs = [(m.group("need") or m.group("need2")).strip() for m in _NEED.finditer(text)]
    signals: list[str] = []
    for match in _SIGNAL.finditer(text):
        verb = match.group("verb").lower()
        for part in re.split(r"\s+and\s+", match.group("clause"), flags=re.I):
            part = _MODALS.sub("", part.strip())
            if not part or re.match(r"(?:need|needs|want|wants|are looking|looking|interested)\b", part, re.I):
                continue
            if re.search(r"\b(?:employees|staff|people)\b", part, re.I):
                continue  # a size cue, kept as company_size
            if verb == "with":
                part = "has " + _ARTICLES.sub("", part)
            elif verb in ("using", "selling", "offering", "running", "hiring"):
                part = f"{verb} {part}"
            signals.append(part)
    return signals, [_ARTICLES.sub("", n) for n in needs]


_LANGUAGE_WORDS = {
    "de": r"und|für|mit|ohne|keine[nmrs]?|nicht|der|die|das|im|bei|oder|noch|auf|Unternehmen|Firmen|Betriebe",
    "fr": r"et|des|les|du|pour|avec|sans|à|au|aux|dans|pas|qui|entreprises|sociétés|cabinets",
    "es": r"y|los|las|del|para|con|sin|que|todavía|empresas|clínicas",
    "en": r"and|the|for|with|without|that|who|near|in|companies|businesses|not|no|still|using",
}


def detect_language(text: str) -> str:
    """'de', 'fr', 'es' or 'en' from the goal's function words (and German/French/Spanish letters)."""
    scores = {lang: len(re.findall(rf"\b(?:{words})\b", text, re.I)) for lang, words in _LANGUAGE_WORDS.items()}
    scores["de"] += 2 * len(re.findall(r"[äöüß]|\w+ung\b", text, re.I))
    scores["fr"] += 2 * len(re.findall(r"[éèêç]", text, re.I))
    scores["es"] += 2 * len(re.findall(r"[ñ¿¡]|\w+ción\b", text, re.I))
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] > scores["en"] else "en"


def _tech_signals(
    text: str, exclusions: tuple[str, ...], signals: list[str]
) -> tuple[list[TechSignal], list[str], list[str]]:
    """Technology signals read from exclusions, negated signals and "still using X"; the other exclusions."""
    found: list[TechSignal] = []
    kept: list[str] = []
    negated: list[str] = []
    for exclusion in exclusions:
        signal = classify(exclusion, present=False)
        if signal is None:
            kept.append(exclusion)
        else:
            found.append(signal)
    for sig in signals:
        if re.match(r"(?:don't|doesn't|do not|does not|lack|lacking|has no|have no)\b", sig, re.I):
            signal = classify(re.sub(r"^(?:has|have)\s+", "", sig, flags=re.I), present=False)
            if signal is not None:
                found.append(signal)
                negated.append(sig)
    found.extend(presence_signals(text))
    unique: dict[str, TechSignal] = {}
    for signal in found:
        unique.setdefault(signal.subject.lower(), signal)
    return list(unique.values()), kept, negated


def parse_goal(goal: str) -> GoalParts:
    """Split a goal into the parts the heuristic planner builds a strategy from."""
    text = " ".join(goal.split()).strip()
    offer = ""
    if match := (_OFFER.search(text) or _OFFER_VERB.search(_strip_lead_in(text))):
        offer = _ARTICLES.sub("", match.group("offer")).strip()
        text = match.group("rest")
    locations = find_locations(text)
    full_text = text
    exclusions, text = find_exclusions(text)
    size = find_company_size(text)
    segments = find_segments(text)
    signals, needs = _signals_and_needs(text)
    tech, kept_exclusions, negated = _tech_signals(full_text, exclusions, signals)
    tech_words = {s.subject.lower() for s in tech}
    # "still using Magento 1" is a technology signal, not a plain one; a negated one is never searched
    signals = [
        sig
        for sig in signals
        if sig not in negated and re.sub(r"^(?:using|running)\s+", "", sig, flags=re.I).lower() not in tech_words
    ]
    place_words = {w.lower() for place in locations for w in re.findall(r"\w+", place)}
    words = [w for s in (*segments, *signals, *needs) for w in re.findall(r"[\w'-]+", s.lower())]
    keywords = [w for w in words if w not in _STOPWORDS and w not in place_words and len(w) > 2]
    # short audience acronyms as written ("selling to HR teams" -> HR, "for IT departments" -> IT)
    keywords += [w.lower() for s in (*signals, *needs) for w in re.findall(r"\b[A-Z]{2,3}\b", s)]
    return GoalParts(
        segments=segments,
        locations=locations,
        company_size=size,
        signals=_unique(signals),
        needs=_unique(needs),
        offer=offer,
        exclusions=tuple(kept_exclusions),
        keywords=_unique([*segments, *keywords])[:10],
        tech_signals=tuple(tech),
        language=detect_language(goal),
    )
