"""Page selection: which pages of a site matter for sales, from its links and its sitemap."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from core.search.candidates import normalise_domain

# In priority order: when pages are scarce, a contact page beats a blog.
PAGE_KINDS: dict[str, tuple[str, ...]] = {
    "contact": (
        "contact",
        "kontakt",
        "contacto",
        "contatto",
        "contato",
        "contactez",
        "contacts",
        "get-in-touch",
        "reach-us",
        "nous-contacter",
        "kontaktieren",
        "contactenos",
    ),
    "about": (
        "about",
        "ueber-uns",
        "uber-uns",
        "über-uns",
        "qui-sommes-nous",
        "a-propos",
        "apropos",
        "quienes-somos",
        "sobre-nosotros",
        "chi-siamo",
        "over-ons",
        "unternehmen",
        "company",
        "entreprise",
        "empresa",
        "azienda",
        "who-we-are",
        "nosotros",
    ),
    "legal": (
        "impressum",
        "imprint",
        "legal",
        "mentions-legales",
        "aviso-legal",
        "legal-notice",
        "note-legali",
        "colofon",
        "colophon",
    ),
    "team": (
        "team",
        "equipe",
        "équipe",
        "equipo",
        "people",
        "leadership",
        "management",
        "mitarbeiter",
        "our-team",
        "squadra",
        "notre-equipe",
    ),
    "pricing": ("pricing", "prices", "preise", "tarifs", "prix", "precios", "tarifas", "plans", "prezzi", "preisliste"),
    "careers": (
        "careers",
        "career",
        "jobs",
        "karriere",
        "stellenangebote",
        "emplois",
        "carrieres",
        "empleo",
        "trabaja-con-nosotros",
        "lavora-con-noi",
        "vacatures",
        "join-us",
    ),
    "blog": (
        "blog",
        "news",
        "aktuelles",
        "neuigkeiten",
        "actualites",
        "noticias",
        "press",
        "presse",
        "notizie",
        "insights",
        "journal",
    ),
}
KIND_PRIORITY = tuple(PAGE_KINDS)
_SKIP_EXTENSIONS = re.compile(
    r"\.(pdf|jpe?g|png|gif|webp|svg|ico|css|js|json|xml|zip|gz|rar|7z|mp[34]|avi|mov|wav|"
    r"docx?|xlsx?|pptx?|csv|txt|woff2?|ttf|eot|exe|dmg|apk)$",
    re.IGNORECASE,
)
_LOC = re.compile(rb"<loc>\s*([^<\s]+)\s*</loc>", re.IGNORECASE)
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Link:
    """An absolute link found on a page and the text it was shown with."""

    url: str
    text: str = ""


@dataclass(frozen=True)
class RankedPage:
    """A page worth fetching: its URL, what kind of page it is and how sure we are."""

    url: str
    kind: str
    score: float


def _fold(text: str) -> str:
    """Lower-case, accents removed, separators as "-": "Über uns" -> "uber-uns"."""
    text = unicodedata.normalize("NFKD", unquote(text).lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return "-".join(_WORDS.findall(text))


_FOLDED_KINDS = {kind: tuple({_fold(k) for k in words}) for kind, words in PAGE_KINDS.items()}


def extract_links(html: str, base_url: str) -> list[Link]:
    """Every http(s) link of a page, absolute and without fragment, with its text."""
    tree = LexborHTMLParser(html)
    base = base_url
    base_tag = tree.css_first("base[href]")
    if base_tag is not None:
        base = urljoin(base_url, base_tag.attributes.get("href") or "")
    links: list[Link] = []
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
            continue
        url = urldefrag(urljoin(base, href))[0]
        if urlsplit(url).scheme in ("http", "https"):
            text = node.text(separator=" ", strip=True) or node.attributes.get("title") or ""
            links.append(Link(url=url, text=text[:200]))
    return links


def parse_sitemap(xml: bytes) -> list[str]:
    """The <loc> URLs of a sitemap (read with a regex: no XML parser for untrusted input)."""
    return [m.group(1).decode("utf-8", errors="replace").replace("&amp;", "&") for m in _LOC.finditer(xml)]


def classify(url: str, text: str = "") -> tuple[str, float]:
    """The kind of page a link points to and a score (0 when it is no page we want)."""
    path = urlsplit(url).path
    segments = [_fold(s) for s in path.split("/") if s]
    if segments:
        segments[-1] = re.sub(r"-(html?|php|aspx?)$", "", segments[-1])
    label = _fold(text)
    best_kind, best = "other", 0.0
    for rank, kind in enumerate(KIND_PRIORITY):
        words = _FOLDED_KINDS[kind]
        score = 0.0
        if any(seg in words for seg in segments):
            score += 10
        elif any(w in seg for seg in segments for w in words):
            score += 6
        if label in words:
            score += 6
        elif label and any(w in label for w in words):
            score += 3
        if score:
            score += 1.0 - rank * 0.1 - 0.5 * max(0, len(segments) - 1)
        if score > best:
            best_kind, best = kind, score
    return best_kind, best


def choose_pages(
    links: Sequence[Link], *, home_url: str, limit: int, sitemap_urls: Sequence[str] = ()
) -> list[RankedPage]:
    """Up to ``limit`` same-site pages: the best of each kind first, then the next best overall."""
    domain = normalise_domain(home_url)
    home = urldefrag(home_url)[0].rstrip("/")
    seen: dict[str, RankedPage] = {}
    hints = [Link(url=u) for u in sitemap_urls]
    for link in [*links, *hints]:
        url = link.url
        parts = urlsplit(url)
        if url.rstrip("/") == home or parts.scheme not in ("http", "https"):
            continue
        if normalise_domain(url) != domain or _SKIP_EXTENSIONS.search(parts.path) or len(url) > 500:
            continue
        kind, score = classify(url, link.text)
        if score <= 0:
            continue
        key = url.rstrip("/")
        if key not in seen or seen[key].score < score:
            seen[key] = RankedPage(url=url, kind=kind, score=score)
    ranked = sorted(seen.values(), key=lambda p: (-p.score, len(p.url), p.url))
    chosen: list[RankedPage] = []
    for kind in KIND_PRIORITY:
        best = next((p for p in ranked if p.kind == kind), None)
        if best is not None and len(chosen) < limit:
            chosen.append(best)
    for page in ranked:
        if len(chosen) >= limit:
            break
        if page not in chosen:
            chosen.append(page)
    return chosen
