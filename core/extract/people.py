"""People a company shows and their roles: JSON-LD persons, Impressum / mentions légales lines, bylines.

Roles are normalised (owner, founder, managing director, sales, marketing, publisher, representative,
author) from English, German, French and Spanish titles. A person's email is given only when the page
shows an address whose local part carries the person's name: nothing is guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborNode

from core.extract.page import BYLINE, BYLINE_TEXT, Page, ld_types, squash

# (normalised role, title pattern) — the first that matches a title wins
ROLES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern, re.I))
    for role, pattern in (
        ("founder", r"co-?founder|founder|mitgründer|gründer|fondat(?:eur|rice)|cofundador|fundador"),
        ("owner", r"\bowner\b|inhaber|propriétaire|propietari[oa]|dueñ[oa]"),
        (
            "managing director",
            r"\bceo\b|chief executive|managing director|geschäftsführ|vorstand|\bgérant|directeur général|"
            r"directrice générale|\bpdg\b|directora? general|director gerente|gerente|administrador único",
        ),
        (
            "publisher",
            r"directeur de la publication|directrice de la publication|v\.?\s?i\.?\s?s\.?\s?d\.?\s?p|"
            r"responsable de la publication|verantwortlich",
        ),
        ("representative", r"vertretungsberechtigt|vertreten durch|represented by|représenté par|representante"),
        ("sales", r"\bsales\b|vertrieb|verkaufsleit|commercial|ventas"),
        ("marketing", r"marketing"),
        ("author", r"\bauthor\b|autor|auteur"),
    )
)
_TITLE_WORDS = (
    r"Geschäftsführer(?:in)?|Geschäftsführung|Inhaber(?:in)?|Vertretungsberechtigte[rn]?(?:\s+Geschäftsführer(?:in)?)?|"
    r"Vertreten\s+durch(?:\s+(?:den|die)\s+Geschäftsführer(?:in)?)?|Verantwortlich(?:\s+für\s+den\s+Inhalt)?(?:\s+nach[^:]{0,30})?|"
    r"Gérante?|Directeur\s+de\s+la\s+publication|Directrice\s+de\s+la\s+publication|Responsable\s+de\s+la\s+publication|"
    r"Administrador\s+único|Owner|Founder|Co-?Founder|CEO|Managing\s+Director"
)
_WORD = r"[A-ZÄÖÜÉÈÁÍÓÚÑÇ][^\W\d_]*(?:[-'’][A-ZÄÖÜÉÈÁÍÓÚÑÇa-z][^\W\d_]*)?"
_NAME = rf"(?:(?:Dr|Prof|Mag|Dipl\.-Ing|Ing)\.\s+)*{_WORD}(?:\s+(?:(?:von|van|de|del|la|le|zu)\s+)?{_WORD}){{1,3}}"
# "Geschäftsführer: …", "gérant : …", "vertreten durch …": a title followed by a colon (or "durch"), as on
# legal pages; "former CEO Adam Neumann" in an article's prose is a person the page is about, not staff
_LINE = re.compile(
    rf"(?P<title>(?i:{_TITLE_WORDS}))\s*(?:\([^)]{{0,20}}\))?\s*(?:[:：]|(?<=durch))\s*(?P<names>{_NAME}(?:\s*(?:,|und|and|et|y)\s*{_NAME})*)"
)
_NAME_AT_START = re.compile(_NAME)
_SPLIT = re.compile(r"\s*(?:,|\bund\b|\band\b|\bet\b|\by\b)\s*")
_COMPANY = re.compile(r"\b(GmbH|AG|UG|KG|OHG|SARL|SAS|SA|S\.L\.|SL|Ltd|Inc|LLC|Holding)\b", re.I)
_NOT_A_NAME = re.compile(
    r"\b(Straße|Str|Telefon|Tel|Phone|Fax|Email|E-Mail|Mail|Registergericht|Amtsgericht|Handelsregister|USt|Kontakt)\b",
    re.I,
)
_DOMAIN_LIKE = re.compile(r"\.\w{2,}")  # "example.com", not the initial in "John C. Welch"
_BYLINE_PREFIX = re.compile(r"^(?:written\s+)?(?:by|von|par|por|sobre)\s+", re.I)
_NOT_A_BYLINE = re.compile(r"\b(staff|press|team|editors?|redaktion|rédaction|news|reuters|desk|admin)\b", re.I)
MAX_PEOPLE = 20
_DATE_WORD = (
    r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|January|February|March|April|May|June|July|August|September|"
    r"October|November|December|Updated|Published"
)
_DATE_AFTER = re.compile(rf"(?<=[a-z])(?=(?:{_DATE_WORD})\b)|\s+(?:{_DATE_WORD})\b.*$")
_OTHER_CONTENT = re.compile(
    r"comment|related|recommend|more-|teaser|sidebar|widget|popular|trending|posts-block|\bcard\b", re.I
)
# the same test on ASCII marks, lower-cased (where case-insensitive matching is lower-casing): plain substrings,
# and the engine only for "card" (a pattern compiled case-insensitively is tried at every position of the marks)
_OTHER_WORDS = (
    "comment",
    "related",
    "recommend",
    "more-",
    "teaser",
    "sidebar",
    "widget",
    "popular",
    "trending",
    "posts-block",
)
_CARD = re.compile(r"\bcard\b")
# where a company names its people: legal notices, team and about pages (the title lines are read there only)
PEOPLE_PAGE = re.compile(
    r"impressum|imprint|legal|mentions|aviso|about|ueber|uber|über|team|equipe|équipe|equipo|kontakt|contact|"
    r"people|leadership|management|qui-sommes|quienes|nosotros|unternehmen|firma",
    re.I,
)


@dataclass(frozen=True)
class Person:
    """A person the page names, the role as normalised and as written, an email the page shows, evidence."""

    name: str
    role: str
    title: str
    email: str
    url: str
    snippet: str

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "title": self.title,
            "email": self.email,
            "evidence": {"url": self.url, "snippet": self.snippet},
        }


def normalise_role(title: str) -> str:
    """'Geschäftsführerin' -> 'managing director', 'Gérant' -> 'managing director', '' when unknown."""
    for role, pattern in ROLES:
        if pattern.search(title):
            return role
    return ""


def _fold(text: str) -> str:
    text = text.lower().replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isalnum())


def _email_for(name: str, emails: list[str]) -> str:
    parts = [_fold(p) for p in name.split() if len(p) > 2 and not p.endswith(".")]
    if not parts:
        return ""
    last = parts[-1]
    for email in emails:
        local = _fold(email.split("@", 1)[0])
        if last in local or (len(parts) > 1 and parts[0] in local and local.startswith(parts[0][:1])):
            return email
    return ""


def _ld_people(page: Page) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []

    def person(value: Any, default_title: str) -> None:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                if "Organization" in ld_types(item):
                    continue
                title = item.get("jobTitle") if isinstance(item.get("jobTitle"), str) else default_title
                found.append((squash(item["name"]), title or default_title, item["name"]))

    for obj in page.json_ld:
        kinds = ld_types(obj)
        if "Person" in kinds and isinstance(obj.get("name"), str):
            title = str(obj["jobTitle"]) if isinstance(obj.get("jobTitle"), str) else ""
            found.append((squash(obj["name"]), title, str(obj["name"])))
        person(obj.get("founder"), "Founder")
        person(obj.get("employee"), "")
        if kinds & {"Article", "NewsArticle", "BlogPosting"}:
            person(obj.get("author"), "Author")
    return found


def extract_people(page: Page, emails: list[str]) -> list[Person]:
    """Everyone the page names with a role, once per name (the first evidence wins)."""
    people: dict[str, Person] = {}

    def add(name: str, title: str, snippet: str) -> None:
        name = _BYLINE_PREFIX.sub("", squash(name).split(",")[0])
        words = name.strip(" ,.;:").split()
        # block boundaries are spaces in the page text: "Anna Schmidt Registergericht" ends before the label
        cut = next((i for i, w in enumerate(words) if _NOT_A_NAME.search(w)), len(words))
        name = " ".join(words[:cut] if cut >= 2 else words)
        role = normalise_role(title)
        if not role or name.lower() in people or _COMPANY.search(name) or _NOT_A_NAME.search(name):
            return
        if role == "author" and _NOT_A_BYLINE.search(name):
            return
        if not 2 <= len(name.split()) <= 5:
            return
        if len(people) < MAX_PEOPLE:
            people[name.lower()] = Person(name, role, squash(title), _email_for(name, emails), page.url, snippet[:240])

    for name, title, raw in _ld_people(page):
        add(name, title, page.source_snippet(raw, 40) or name)
    text = page.text
    on_a_people_page = bool(PEOPLE_PAGE.search(urlsplit(page.url).path)) or bool(PEOPLE_PAGE.search(page.title))
    for match in _LINE.finditer(text) if on_a_people_page else ():
        title = match.group("title")
        for name in _SPLIT.split(match.group("names")):
            add(name, title, text[max(0, match.start() - 20) : match.end() + 40])
    for name, snippet in _bylines(page):
        add(name, "Author", snippet)
    author = page.meta("author")
    # the meta author is often the publisher ("Condé Nast"): read only when the page names no author itself
    if (
        author
        and not _DOMAIN_LIKE.search(author)
        and "@" not in author
        and not any(p.role == "author" for p in people.values())
    ):
        add(author, "Author", page.source_snippet(author, 40) or author)
    return list(people.values())


def _in_other_content(node: LexborNode) -> bool:
    """True for a byline in comments or in a list of other articles (related, more from, sidebars)."""
    parent = node.parent
    for _ in range(12):
        if parent is None:
            return False
        attributes = parent.attributes
        marks = f"{attributes.get('class') or ''} {attributes.get('id') or ''}"
        if parent.tag in ("footer", "aside") or _other_content_marks(marks):
            return True
        parent = parent.parent
    return False


def _other_content_marks(marks: str) -> bool:
    """``_OTHER_CONTENT.search(marks)`` is not None."""
    if not marks.isascii():
        return _OTHER_CONTENT.search(marks) is not None
    lowered = marks.lower()
    return any(word in lowered for word in _OTHER_WORDS) or ("card" in lowered and _CARD.search(lowered) is not None)


def _bylines(page: Page) -> list[tuple[str, str]]:
    """(name, snippet) of the page's own byline: the first byline and the names in its container."""
    found: list[tuple[str, str]] = []
    container: LexborNode | None = None
    for node in page.marked(f"{BYLINE}, {BYLINE_TEXT}"):
        if _in_other_content(node) or (container is not None and not _inside(node, container)):
            continue
        # the first line of the node: "Andrew Husband" without the "Twitter" link after it
        lines = [line for line in map(squash, (node.text(deep=True, separator="\n") or "").split("\n")) if line]
        if len(lines) > 1 and _BYLINE_PREFIX.match(lines[0] + " "):  # "by" in one element, the name in the next
            lines = [f"{lines[0]} {lines[1]}", *lines[2:]]
        text = lines[0] if lines else ""
        prefixed = _BYLINE_PREFIX.match(text)
        if not prefixed and not node.css_matches(BYLINE):
            continue  # a "byline" class without "By …" is as often a date or a headline as a name
        if prefixed:  # "by Jeff FoustMonday, November 18, 2019", "By Louis Jacobson on Monday": the names only
            rest = _DATE_AFTER.split(text[prefixed.end() :], maxsplit=1)[0]
            names = [m.group(0) for part in _SPLIT.split(rest) if (m := _NAME_AT_START.match(part.strip()))]
        else:
            names = [n for n in _SPLIT.split(text) if n.strip()]
        if not names:
            continue
        found.extend((name, text) for name in names)
        if container is None:
            container = _ancestor(node, 3)
    return found


def _ancestor(node: LexborNode, levels: int) -> LexborNode:
    for _ in range(levels):
        if node.parent is None or node.parent.tag in ("body", "html"):
            break
        node = node.parent
    return node


def _inside(node: LexborNode, container: LexborNode) -> bool:
    parent: LexborNode | None = node
    while parent is not None:
        if parent.mem_id == container.mem_id:
            return True
        parent = parent.parent
    return False
