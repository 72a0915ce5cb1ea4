"""The rubric as rules: each factor's share of its weight, with the evidence ids behind it (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from core.extract.location import country_code
from core.strategy.models import ICP
from core.strategy.tech_goals import ABSENCE as _ABSENCE
from core.strategy.tech_goals import TECH_CATEGORY_WORDS, named_technology, tech_category_of

__all__ = ["TECH_CATEGORY_WORDS", "named_technology", "tech_category_of"]

JUDGEMENT_NAME = "LLM judgement"  # the factor an AI plan proposes; any factor of kind "judgement" is one
JUDGEMENT_WEIGHT = 20  # the weight an AI plan proposes for it (shown and editable like every other weight)
MAX_IDS = 5
_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("exclusions", ("exclu", "not a ", "avoid", "red flag")),
    ("judgement", ("llm", "judg", "overall", "ai fit", "ai assessment")),
    ("reachable", ("reach", "contact", "email", "phone")),
    ("size", ("size", "employee", "headcount", "team")),
    ("industry", ("industr", "sector", "segment", "category", "business type", "vertical")),
    ("location", ("locat", "region", "area", "geo", "city", "country", "place", "local")),
    ("signals", ("signal", "tech", "keyword", "need", "intent", "stack")),
)
_SIZES = {
    "micro": (1, 10),
    "small": (1, 50),
    "mid": (50, 250),
    "medium": (50, 250),
    "large": (250, 10**7),
    "enterprise": (1000, 10**7),
}
_SIZE_CUE = re.compile(
    r"(?:team of|over|more than)?\s*(\d[\d,.]*)\s*\+?\s*(?:employees|staff|people|team members|colleagues)"
    r"|team of (\d+)",
    re.I,
)


@dataclass(frozen=True)
class EvidenceFact:
    """One evidence row as scoring sees it."""

    id: int
    field: str
    value: str
    snippet: str = ""


@dataclass(frozen=True)
class LeadFacts:
    """What the rules read about a lead."""

    lead_id: int
    name: str = ""
    domain: str = ""
    industry: str = ""
    location: str = ""
    country: str = ""
    city: str = ""
    summary: str = ""
    tech: tuple[str, ...] = ()
    contact_kinds: tuple[str, ...] = ()
    evidence: tuple[EvidenceFact, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Factor:
    """One scored factor: its weight, the share earned, the points, and the evidence behind it."""

    factor: str
    kind: str
    weight: float
    fraction: float
    points: float
    evidence_ids: tuple[int, ...]
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON stored in ``lead.score_factors``."""
        weight, fraction = self.weight, self.fraction  # round() only what is not whole (inlined: hot path)
        return {
            "factor": self.factor,
            "kind": self.kind,
            "weight": weight if type(weight) is float and weight.is_integer() else round(weight, 2),
            "fraction": fraction if type(fraction) is float and fraction.is_integer() else round(fraction, 3),
            "points": self.points,
            "evidence_ids": list(self.evidence_ids),
            "detail": self.detail,
        }


def _rounded(value: float, digits: int) -> float:
    """``round(value, digits)``, skipped for whole numbers (most weights and shares: this runs for every factor
    of every lead re-scored, and ``round`` with digits is the slow part of it)."""
    return value if type(value) is float and value.is_integer() else round(value, digits)


@lru_cache(maxsize=4096)  # asked for every factor of every lead scored: the answer depends on the name alone
def factor_kind(name: str) -> str:
    """Which rule scores a rubric factor, from its name ("Industry match" -> "industry")."""
    lowered = f" {name.lower()} "
    if not tech_category_of(name) and named_technology(name)[0]:
        return "technology"
    if tech_category_of(name) and not any(n in lowered for n in ("exclu", "avoid", "red flag")):
        return "technology"
    for kind, needles in _KINDS:
        if any(n in lowered for n in needles):
            return kind
    return "keywords"


def _stem(word: str) -> str:
    word = word.lower()
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if len(word) > 4 and word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word


@lru_cache(maxsize=8192)
def _term(term: str) -> tuple[str, tuple[str, ...]]:
    """A term as matching reads it: lowered, and its longer words loosely stemmed (computed once per term)."""
    lowered = term.lower().strip()
    return lowered, tuple(_stem(w) for w in re.findall(r"[\w'-]+", lowered) if len(w) >= 4)


def _hit(term: tuple[str, tuple[str, ...]], lowered_text: str) -> bool:
    whole, words = term
    if not whole:
        return False
    return whole in lowered_text or (bool(words) and all(w in lowered_text for w in words))


def term_in(term: str, text: str) -> bool:
    """True when ``term`` (or all of its longer words, loosely stemmed) appears in ``text``."""
    return _hit(_term(term), text.lower())


@dataclass(frozen=True)
class _Texts:
    """A lead's text as matching reads it, lowered once per lead (not once per term)."""

    base: str
    evidence: tuple[tuple[int, str], ...]
    country: str
    everything: str  # all of the above, one per line: a term absent here is absent everywhere (one test, not many)


def _texts(facts: LeadFacts) -> _Texts:
    base = " ".join(
        (facts.name, facts.industry, facts.location, facts.city, facts.country, facts.summary, " ".join(facts.tech))
    ).lower()
    evidence = tuple((e.id, f"{e.value} {e.snippet}".lower()) for e in facts.evidence)
    everything = "\n".join((base, *(text for _i, text in evidence)))
    return _Texts(base, evidence, facts.country.upper(), everything)


def _matches(terms: tuple[str, ...] | list[str], texts: _Texts, *, places: bool = False) -> tuple[list[str], list[int]]:
    found: list[str] = []
    ids: list[int] = []
    everything = texts.everything
    for term in terms:
        compiled = _term(term)
        in_country = places and bool(texts.country) and country_code(term) == texts.country
        whole, words = compiled
        if not in_country and not (whole and (whole in everything or (words and all(w in everything for w in words)))):
            continue  # most terms miss most leads: one look at the whole text settles it
        hit_ids = [i for i, text in texts.evidence if _hit(compiled, text)]
        # a place that is a country ("UK", "Deutschland") is the lead's country, whatever its address says
        if hit_ids or in_country or _hit(compiled, texts.base):
            found.append(term)
            ids.extend(i for i in hit_ids if i not in ids)
    return found, ids[:MAX_IDS]


def _size_range(company_size: str) -> tuple[int, int] | None:
    numbers = [int(n) for n in re.findall(r"\d+", company_size)]
    if len(numbers) >= 2:
        return numbers[0], numbers[1]
    if len(numbers) == 1:
        return numbers[0], 10**7 if "+" in company_size else numbers[0]
    for word, bounds in _SIZES.items():
        if word in company_size.lower():
            return bounds
    return None


_SIZE_WORDS = ("employee", "staff", "people", "team", "colleague")  # one of them is in every size cue


def _size(icp: ICP, facts: LeadFacts, texts: _Texts) -> tuple[float, list[int], str]:
    wanted = _size_range(icp.company_size) if icp.company_size != "any" else None
    if wanted is None:
        return 1.0, [], "no size asked for"
    if not any(word in texts.everything for word in _SIZE_WORDS):
        return 0.5, [], "no size cue found"  # the cue's words are nowhere: no evidence row needs the regex
    for e in facts.evidence:
        m = _SIZE_CUE.search(f"{e.value} {e.snippet}")
        if m:
            count = int(re.sub(r"\D", "", m.group(1) or m.group(2)) or 0)
            inside = wanted[0] <= count <= wanted[1]
            return (
                (1.0 if inside else 0.2),
                [e.id],
                f"size cue '{m.group(0).strip()}' {'fits' if inside else 'outside'} {icp.company_size}",
            )
    return 0.5, [], "no size cue found"


def _technology(name: str, facts: LeadFacts) -> tuple[float, list[int], str]:
    """A factor about a technology category: its presence, or with "no"/"without" its absence, is the fit."""
    # imported here: the fingerprint set (a 3.5 MB JSON) is read only when a rubric has such a factor
    from core.extract.fingerprints import tech_categories

    category = tech_category_of(name)
    wants_absence = bool(_ABSENCE.search(name))
    if not category:
        return _named_technology(name, facts, wants_absence)
    known = tech_categories()
    present = [t for t in facts.tech if category in known.get(t, ())]
    ids = [e.id for e in facts.evidence if e.field == "tech" and e.value in present][:MAX_IDS]
    if present:
        detail = f"{category} found: " + ", ".join(present)
        return (0.0 if wants_absence else 1.0), ids, detail
    crawled = sorted({e.snippet for e in facts.evidence if e.field == "page"})[:3]
    looked = f"no {category} technology found on the crawled pages" + (f" ({', '.join(crawled)})" if crawled else "")
    return (1.0 if wants_absence else 0.0), [], looked


def _crawled(facts: LeadFacts) -> list[str]:
    return sorted({e.snippet for e in facts.evidence if e.field == "page"})[:3]


def _named_technology(name: str, facts: LeadFacts, wants_absence: bool) -> tuple[float, list[int], str]:
    """A factor naming one technology ("No Shopify found", "Uses Magento 1") or SSL, with what was looked at."""
    tech, asked = named_technology(name)
    if tech == "SSL":
        urls = [u for e in facts.evidence for u in (e.value, e.snippet) if u.startswith(("http://", "https://"))]
        if not urls:
            return 0.5, [], "SSL not checked: no crawled page address on record"
        secure = [u for u in urls if u.startswith("https://")]
        if secure:
            return (0.0 if wants_absence else 1.0), [], "SSL found: " + secure[0]
        return (1.0 if wants_absence else 0.0), [], "no SSL: pages served over http (" + ", ".join(urls[:3]) + ")"
    lowered = tech.lower()
    present = [t for t in facts.tech if t.lower() == lowered]
    ids = [e.id for e in facts.evidence if e.field == "tech" and e.value.lower() == lowered][:MAX_IDS]
    crawled = _crawled(facts)
    if present:
        note = f" (version {asked[len(tech) :].strip()} asked; the version is not checked)" if asked != tech else ""
        return (0.0 if wants_absence else 1.0), ids, f"{tech} found{note}"
    looked = f"no {tech} found on the crawled pages" + (f" ({', '.join(crawled)})" if crawled else "")
    return (1.0 if wants_absence else 0.0), [], looked


def _terms(kind: str, name: str, icp: ICP) -> tuple[str, ...]:
    """The terms a text rule looks for (worked out once per rubric, not once per lead)."""
    terms = {
        "industry": lambda: list(icp.industries),
        "location": lambda: list(icp.locations),
        "signals": lambda: [*icp.signals, *icp.keywords],
        "exclusions": lambda: list(icp.exclusions),
        "keywords": lambda: [*icp.keywords, *[w for w in re.findall(r"[\w'-]+", name) if len(w) >= 5]],
    }.get(kind)
    return tuple(terms()) if terms else ()


def _rule(
    kind: str, name: str, icp: ICP, facts: LeadFacts, texts: _Texts, terms: tuple[str, ...]
) -> tuple[float, list[int], str]:
    if kind == "reachable":
        kinds = set(facts.contact_kinds)
        email_ids = [e.id for e in facts.evidence if e.field == "email"][:MAX_IDS]
        phone_ids = [e.id for e in facts.evidence if e.field == "phone"][:MAX_IDS]
        if "email" in kinds:
            return 1.0, email_ids, "has an email address"
        if "phone" in kinds:
            return 0.6, phone_ids, "phone only"
        if kinds & {"form", "social"}:
            return 0.3, [], "contact form or social profile only"
        return 0.0, [], "no way to reach them found"
    if kind == "size":
        return _size(icp, facts, texts)
    if kind == "technology":
        return _technology(name, facts)
    if not terms:
        return 1.0, [], "nothing asked for"
    found, ids = _matches(terms, texts, places=kind == "location")
    if kind == "exclusions":
        return (0.0, ids, "exclusion hit: " + ", ".join(found)) if found else (1.0, [], "no exclusion found")
    if kind == "signals":
        share = min(1.0, len(found) / min(len(terms), 3))
        return share, ids, ("found: " + ", ".join(found)) if found else "none found"
    return (1.0, ids, "matches " + ", ".join(found)) if found else (0.0, [], "no match")


def effective_weights(rubric: list[tuple[str, int]]) -> list[tuple[str, str, float]]:
    """(factor, kind, weight) exactly as the rubric gives them: weights are never rescaled, and the LLM's
    judgement counts only when the rubric has a factor for it (with the weight the user gave it)."""
    return [(name, factor_kind(name), float(weight)) for name, weight in rubric]


def judgement_factor(rubric: list[tuple[str, int]]) -> tuple[str, float] | None:
    """(name, weight) of the rubric's LLM judgement factor, or None when the rubric has none."""
    return next(((n, w) for n, k, w in effective_weights(rubric) if k == "judgement"), None)


@dataclass(frozen=True)
class RulePlan:
    """A rubric compiled for scoring many leads: each rule factor with its kind, weight and terms."""

    icp: ICP
    rules: tuple[tuple[str, str, float, tuple[str, ...]], ...]


def compile_rules(rubric: list[tuple[str, int]], icp: ICP) -> RulePlan:
    """The rubric's rule factors (not the judgement) with everything that does not depend on the lead."""
    return RulePlan(
        icp,
        tuple(
            (name, kind, weight, _terms(kind, name, icp))
            for name, kind, weight in effective_weights(rubric)
            if kind != "judgement"
        ),
    )


def score_rules(rubric: list[tuple[str, int]] | RulePlan, icp: ICP, facts: LeadFacts) -> list[Factor]:
    """Every rule factor of the rubric for one lead (the judgement factor is left to the caller). Pass a
    ``RulePlan`` from ``compile_rules`` when scoring many leads with one rubric."""
    plan = rubric if isinstance(rubric, RulePlan) else compile_rules(rubric, icp)
    texts = _texts(facts)
    factors = []
    for name, kind, weight, terms in plan.rules:
        fraction, ids, detail = _rule(kind, name, plan.icp, facts, texts, terms)
        factors.append(Factor(name, kind, weight, fraction, _rounded(weight * fraction, 2), tuple(ids), detail))
    return factors


def unjudged(name: str, weight: float, earlier: dict[str, Any] | None, reason: str) -> Factor:
    """The judgement factor when the LLM gave no answer this time: the lead's earlier judgement at the current
    weight, or none (0 points) with the reason; the other weights stay as entered either way."""
    if earlier is not None:
        fraction = float(earlier.get("fraction") or 0.0)
        detail = str(earlier.get("detail") or "")
        if not detail.startswith("(earlier judgement)"):
            detail = f"(earlier judgement) {detail}"
        ids = tuple(int(i) for i in earlier.get("evidence_ids") or ())
        return Factor(name, "judgement", weight, fraction, round(weight * fraction, 2), ids, detail[:2000])
    return Factor(name, "judgement", weight, 0.0, 0.0, (), f"not judged: {reason}")


def total(factors: list[Factor]) -> float:
    """The score: the sum of every factor's points, 0-100."""
    return round(min(100.0, max(0.0, sum(f.points for f in factors))), 1)
