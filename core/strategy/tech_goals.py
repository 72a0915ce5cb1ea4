"""Technologies and website features a goal asks for or against ("without online booking", "still on Magento 1").

They are a fit signal checked on the crawled pages, never a search exclusion: a page that lacks online
booking does not say "online booking", so ``-"online booking"`` in a query finds nothing more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Rubric factors about a kind of technology ("No online booking found", "Uses a live chat"): the words
# that name each category users filter on, and the words that ask for its absence.
TECH_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "booking": ("booking", "scheduling", "appointment", "reservation", "terminbuchung", "réservation", "reserva"),
    "analytics": ("analytics", "tracking", "web analytics"),
    "tag manager": ("tag manager",),
    "live chat": ("live chat", "chat widget", "chatbot"),
    "payments": ("payment", "checkout"),
    "CRM": ("crm",),
    "marketing automation": ("marketing automation", "email marketing", "newsletter tool"),
    "e-commerce": ("e-commerce", "ecommerce", "online shop", "shop system", "webshop"),
    "CMS": ("cms", "content management"),
    "consent": ("cookie consent", "cookie banner", "consent"),
    "hosting/CDN": ("cdn", "hosting"),
}
ABSENCE = re.compile(r"\b(no|not|without|lacks?|lacking|missing|keine?n?|ohne|sans|sin)\b", re.I)
# Features that are not in the fingerprint set but are read from the crawl itself.
SITE_FEATURES = {"ssl": "SSL", "https": "SSL", "ssl certificate": "SSL", "an ssl certificate": "SSL"}
_ABSENT_CUE = re.compile(
    r"^(?:without|no|not|not on|not using|don't have|doesn't have|do not have|does not have|lack|lacking|"
    r"missing|keine?[nmrs]?|ohne|nicht|sans|pas de|sin|no tienen?|on|using|auf|sur|en|con)\b\s*",
    re.I,
)
_PRESENT_CUE = re.compile(
    r"\b(?:still\s+)?(?:using|on|running(?:\s+on)?|runs\s+on|built\s+(?:with|on)|powered\s+by|"
    r"(?:noch\s+)?(?:mit|auf)|encore\s+sur|todavía\s+(?:en|con)|con)\s+(?P<what>[\w.+'’ -]+?)"
    r"(?=\s*[.;,!?]|\s+(?:in|near|and|but|that|who|which|und|et|y)\b|$)",
    re.I,
)
_ARTICLE = re.compile(r"^(?:an?|the|any|einen?|eine|un|une|des|una?|el|la|le)\s+", re.I)


@dataclass(frozen=True)
class TechSignal:
    """A technology or feature the goal wants present (``present=True``) or absent."""

    subject: str  # as the user wrote it: "online booking", "Magento 1", "SSL"
    present: bool
    category: str = ""  # a category users filter on ("booking"), or '' for a named technology/feature

    @property
    def factor(self) -> str:
        """The rubric factor scoring reads (``core.scoring.rules.factor_kind`` -> "technology")."""
        return f"No {self.subject} found" if not self.present else f"Uses {self.subject}"

    @property
    def criterion(self) -> str:
        looked = "looked for on the crawled pages"
        return f"Shows no {self.subject} ({looked})" if not self.present else f"Uses {self.subject} ({looked})"


def known_technology(subject: str) -> str:
    """The fingerprint name ``subject`` starts with ("Magento 1" -> "Magento"), a site feature, or ''."""
    text = _ARTICLE.sub("", subject.strip()).strip()
    if text.lower() in SITE_FEATURES:
        return SITE_FEATURES[text.lower()]
    if not text or len(text) > 60:
        return ""
    # imported here: the fingerprint set is read only when a goal names something that could be one
    from core.extract.fingerprints import tech_categories

    names = {name.lower(): name for name in tech_categories()}
    words = text.split()
    for end in range(len(words), 0, -1):
        candidate = " ".join(words[:end]).lower()
        if candidate in names and (end == len(words) or re.fullmatch(r"v?\d[\w.]*|\d+(?:\.\d+)*", words[end])):
            return names[candidate]
    return ""


def tech_category_of(name: str) -> str:
    """The technology category a rubric factor is about ("No online booking found" -> "booking"), or ''."""
    lowered = f" {name.lower()} "
    for category, words in TECH_CATEGORY_WORDS.items():
        if any(re.search(rf"\b{re.escape(w)}", lowered) for w in words):
            return category
    return ""


_NAMED_TECH = re.compile(r"^(?:no|uses|not on|runs on)\s+(?P<tech>.+?)(?:\s+found)?$", re.I)


def named_technology(name: str) -> tuple[str, str]:
    """("No Shopify found") -> ("Shopify", "Shopify"); ("Uses Magento 1") -> ("Magento", "Magento 1"); else ''."""
    match = _NAMED_TECH.match(name.strip())
    if not match:
        return "", ""
    return known_technology(match.group("tech")), match.group("tech")


def technology_category(subject: str) -> str:
    return tech_category_of(subject)


def is_technology_factor(name: str) -> str:
    """The category or technology a rubric factor scores ("No Shopify found" -> "shopify"), or ''."""
    return (tech_category_of(name) or named_technology(name)[0]).lower()


def classify(phrase: str, *, present: bool) -> TechSignal | None:
    """``phrase`` as a technology signal when it names a technology category, a known technology or SSL."""
    subject = _ARTICLE.sub("", _ABSENT_CUE.sub("", phrase.strip()).strip()).strip(" .'\"")
    if not subject:
        return None
    category = technology_category(subject)
    if category or known_technology(subject):
        return TechSignal(subject=subject, present=present, category=category)
    return None


def presence_signals(text: str) -> list[TechSignal]:
    """Technologies the goal says the companies use ("still using Magento 1", "on Shopify")."""
    found: list[TechSignal] = []
    for match in _PRESENT_CUE.finditer(text):
        if re.search(r"\b(?:not|no|nicht|pas|ne|sin)\s*$", text[: match.start()], re.I):
            continue  # "not on Shopify": an absence, read from the exclusions
        what = match.group("what").strip()
        if known_technology(what):  # only named technologies: "with an online shop" stays a plain signal
            found.append(TechSignal(subject=_ARTICLE.sub("", what), present=True))
    return found


def is_tech_exclusion(term: str, signals: list[TechSignal] | tuple[TechSignal, ...]) -> bool:
    """Whether a query's ``-"term"`` names one of the absent technologies (so it must not be searched)."""
    lowered = term.lower().strip('"')
    return any(
        not s.present and (lowered == s.subject.lower() or (s.category and technology_category(lowered) == s.category))
        for s in signals
    )
