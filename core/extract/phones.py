"""Phone numbers in E.164: tel: links, JSON-LD, and page text through libphonenumber."""

from __future__ import annotations

import re
from urllib.parse import unquote

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from core.extract.models import Fact
from core.extract.page import Page

# Country code top-level domains whose region differs from the upper-cased TLD.
TLD_REGIONS = {"uk": "GB", "com": "US", "org": "US", "net": "US", "io": "", "co": "", "ai": "", "app": "", "dev": ""}
_DATE = re.compile(r"^\s*\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\s*$")
_FAX = re.compile(r"(fax|telefax|télécopie)\s*[:.]?\s*$", re.IGNORECASE)
_KEYWORD = re.compile(
    r"\b(tel|phone|fon|call|anruf|téléphone|teléfono|tfno|móvil|mobile|handy|whatsapp|hotline|☎|📞)", re.IGNORECASE
)
_PRICE = re.compile(r"[$€£¥]|\b(eur|usd|gbp)\b", re.IGNORECASE)
# A run of digits and separators long enough to hold a phone number: libphonenumber's matcher only reads
# the text around such runs (it is slow on long text, and most of a page has no number in it).
# ``[+(]?\d[\d ().\-/]{5,28}\d`` (same matches) opened by a character set: the engine skips to the next
# candidate start in C (a pattern that opens with a lookahead or an optional item is tried at every position)
_DIGIT_RUN = re.compile(r"[+(\d](?:(?<=[+(])\d)?(?<=\d)[\d ().\-/]{5,28}\d")
MAX_WINDOWS = 200
# a catalogue number, not a phone: reference lists (an encyclopedia page has hundreds) cost libphonenumber most
_IDENTIFIER_BEFORE = re.compile(r"\b(?:ISBN(?:-1[03])?|ISSN|PMID|PMC|OCLC|JSTOR|S2CID|LCCN|doi|Bibcode)[\s:]*$")


def _windows(text: str) -> list[tuple[int, int]]:
    """Merged (start, end) spans around every digit run of seven digits or more."""
    spans: list[tuple[int, int]] = []
    for match in _DIGIT_RUN.finditer(text):
        if sum(ch.isdigit() for ch in match.group(0)) < 7:
            continue
        if _IDENTIFIER_BEFORE.search(text, max(0, match.start() - 12), match.start()):
            continue
        start, end = max(0, match.start() - 45), min(len(text), match.end() + 8)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        if len(spans) >= MAX_WINDOWS:
            break
    return spans


def region_for_host(host: str) -> str:
    """A libphonenumber region guessed from the site's top-level domain ('' when unknown)."""
    tld = host.rsplit(".", 1)[-1].lower() if "." in host else ""
    if tld in TLD_REGIONS:
        return TLD_REGIONS[tld]
    return tld.upper() if len(tld) == 2 else ""


def to_e164(raw: str, region: str) -> str | None:
    """Parse ``raw`` as a phone number (``region`` for national formats); E.164 or None."""
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _looks_like_a_phone(raw: str, before: str) -> bool:
    if _DATE.match(raw) or _PRICE.search(before[-3:] + raw):
        return False
    digits = sum(ch.isdigit() for ch in raw)
    if digits < 7:
        return False
    formatted = raw.lstrip().startswith(("+", "(", "00")) or bool(re.search(r"\d[\s./-]\d", raw))
    return formatted or bool(_KEYWORD.search(before[-30:]))


def extract_phones(page: Page, *, region: str = "") -> list[Fact]:
    """Every phone number on the page in E.164, with the snippet it was read from."""
    region = region or region_for_host(page.host)
    facts: dict[str, Fact] = {}

    def add(e164: str | None, snippet: str) -> None:
        if e164 and e164 not in facts:
            facts[e164] = Fact("phone", e164, page.url, snippet[:240])

    for link in page.links:
        if link.href.lower().startswith(("tel:", "callto:")):
            raw = unquote(link.href.split(":", 1)[1]).split(";")[0]
            add(
                to_e164(raw, region),
                page.snippet(link.text) if link.text else page.source_snippet(link.href.split(":", 1)[1][:40]),
            )
    for obj in page.json_ld:
        for key in ("telephone", "contactPoint"):
            value = obj.get(key)
            for item in value if isinstance(value, list) else [value]:
                phone = item.get("telephone") if isinstance(item, dict) else item
                if isinstance(phone, str) and phone.strip():
                    add(to_e164(phone, region), page.source_snippet(phone))
    text = page.text
    for window_start, window_end in _windows(text):
        window = text[window_start:window_end]
        for match in PhoneNumberMatcher(window, region or "US", leniency=Leniency.VALID, max_tries=20):
            start = window_start + match.start
            before = text[max(0, start - 40) : start]
            if _FAX.search(before) or not _looks_like_a_phone(match.raw_string, before):
                continue
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if _swallowed_a_number(match.raw_string, region, facts):
                continue
            add(e164, text[max(0, start - 60) : start + len(match.raw_string) + 60])
    return list(facts.values())


def _swallowed_a_number(raw: str, region: str, known: dict[str, Fact]) -> bool:
    """True when ``raw`` is a known number followed by a stray digit group (a house number)."""
    head, _, tail = raw.rstrip().rpartition(" ")
    if not head or not tail.isdigit() or len(tail) > 4:
        return False
    shorter = to_e164(head, region)
    return shorter is not None and shorter in known
