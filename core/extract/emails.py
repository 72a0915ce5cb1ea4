"""Email addresses: mailto links, page text, JSON-LD, common obfuscations, Cloudflare protection."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from email_validator import SPECIAL_USE_DOMAIN_NAMES

from core.extract.models import Fact
from core.extract.page import CLOUDFLARE_EMAIL, Page

_LOCAL = r"[A-Za-z0-9][A-Za-z0-9._%+'-]{0,63}"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
EMAIL = re.compile(rf"(?<![A-Za-z0-9._%+-])({_LOCAL}@{_DOMAIN})(?![A-Za-z0-9-])")
_AT = r"\s*(?:\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\}|<\s*at\s*>|\s*@\s*|\[@\]|\(@\))\s*"
_DOT = r"(?:\s*(?:\[\s*(?:dot|punkt|point|punto)\s*\]|\(\s*(?:dot|punkt|point|punto)\s*\)|\{\s*dot\s*\})\s*|\s+(?:dot|punkt)\s+|\.(?=[A-Za-z0-9]))"
OBFUSCATED = re.compile(
    rf"(?<![A-Za-z0-9._%+-])([A-Za-z0-9][A-Za-z0-9._%+-]{{0,63}}){_AT}((?:[A-Za-z0-9-]+{_DOT})+[A-Za-z]{{2,24}})\b",
    re.IGNORECASE,
)
_DOT_SPLIT = re.compile(_DOT, re.IGNORECASE)

ROLE_LOCALS = {
    "info",
    "hello",
    "hi",
    "contact",
    "kontakt",
    "contacto",
    "sales",
    "vertrieb",
    "ventas",
    "support",
    "help",
    "service",
    "office",
    "buero",
    "admin",
    "team",
    "mail",
    "email",
    "enquiries",
    "inquiries",
    "enquiry",
    "inquiry",
    "booking",
    "bookings",
    "reservations",
    "orders",
    "order",
    "shop",
    "press",
    "media",
    "marketing",
    "billing",
    "accounts",
    "finance",
    "jobs",
    "careers",
    "hr",
    "recruiting",
    "privacy",
    "datenschutz",
    "legal",
    "webmaster",
    "noreply",
    "no-reply",
    "general",
    "studio",
    "bonjour",
    "hola",
    "hallo",
    "welcome",
    "partners",
    "feedback",
    "customerservice",
    "kundenservice",
}
NEVER_CONTACTS = {"noreply", "no-reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster"}
PLACEHOLDER_DOMAINS = {
    "example.com",
    "example.org",
    "example.net",
    "domain.com",
    "yourdomain.com",
    "email.com",
    "company.com",
    "yourcompany.com",
    "test.com",
    "sentry.io",
    "wixpress.com",
    "sentry-next.wixpress.com",
    "mysite.com",
}
ASSET_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".css", ".js", ".ico", ".avif", ".mp4", ".pdf")
_HEXISH = re.compile(r"^[0-9a-f]{16,}$")


def is_role_address(email: str) -> bool:
    """True for shared inboxes (info@, sales@, ...) rather than a person's address."""
    local = email.split("@", 1)[0].lower()
    return local in ROLE_LOCALS or local.split(".")[0] in ROLE_LOCALS or local.split("-")[0] in ROLE_LOCALS


def clean_email(candidate: str) -> str | None:
    """A normalised address, or None when it is a false positive (asset names, placeholders, ids)."""
    email = candidate.strip().strip(".,;:'\"()<>[]").lower()
    if email.count("@") != 1:
        return None
    local, domain = email.split("@")
    if not local or not domain or ".." in email or local.startswith(".") or local.endswith("."):
        return None
    if domain.endswith(ASSET_SUFFIXES) or re.search(r"@\d+x\.", email):
        return None
    if domain in PLACEHOLDER_DOMAINS or domain.endswith((".example", ".invalid", ".localhost", ".test.invalid")):
        return None
    if local in NEVER_CONTACTS or _HEXISH.match(local) or local.isdigit():
        return None
    tld = domain.rsplit(".", 1)[-1]
    if not tld.isalpha():
        return None
    return email


def decode_cloudflare(encoded: str) -> str | None:
    """Decode Cloudflare's email protection (``data-cfemail`` / ``/cdn-cgi/l/email-protection#...``)."""
    try:
        data = bytes.fromhex(encoded)
    except ValueError:
        return None
    if len(data) < 2:
        return None
    key = data[0]
    try:
        return bytes(b ^ key for b in data[1:]).decode("utf-8")
    except UnicodeDecodeError:
        return None


# ``@|[\[({<]\s*at\s*[\])}>]`` (same matches) opened by one character set, which lets the engine skip to the
# next candidate in C: an alternation of two branches is tried at every position of the text
_AT_MARKER = re.compile(r"[@\[({<](?:(?<=@)|\s*at\s*[\])}>])", re.IGNORECASE)


def _around_at(text: str) -> list[str]:
    """The text around every ``@`` or ``[at]``-like marker, merged: addresses are only looked for there
    (scanning the whole text with the address patterns was most of the time of this extractor)."""
    spans: list[list[int]] = []
    for match in _AT_MARKER.finditer(text):
        start, end = max(0, match.start() - 80), match.end() + 160
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [text[start:end] for start, end in spans]


def extract_emails(page: Page) -> list[Fact]:
    """Every email address on the page, each with a snippet that shows where it was found."""
    facts: dict[str, Fact] = {}

    def add(raw: str | None, snippet: str) -> None:
        email = clean_email(raw or "")
        if email and email not in facts:
            facts[email] = Fact("email", email, page.url, snippet[:240])

    for link in page.links:
        if link.href.lower().startswith("mailto:"):
            address = unquote(urlsplit(link.href).path or link.href[7:].split("?")[0])
            add(address, page.snippet(link.text) if link.text else page.source_snippet(link.href.split(":", 1)[1][:60]))
        elif "/cdn-cgi/l/email-protection#" in link.href:
            add(
                decode_cloudflare(link.href.rsplit("#", 1)[1]),
                page.snippet(link.text) or page.source_snippet("email-protection"),
            )
    for node in page.marked(CLOUDFLARE_EMAIL):
        add(
            decode_cloudflare(node.attributes.get("data-cfemail") or ""),
            page.snippet("[email") or page.source_snippet("data-cfemail"),
        )
    for obj in page.json_ld:
        for key in ("email", "contactPoint"):
            for value in _values(obj.get(key)):
                if isinstance(value, dict):
                    for inner in _values(value.get("email")):
                        add(str(inner).removeprefix("mailto:"), page.source_snippet(str(inner)))
                elif key == "email":
                    add(str(value).removeprefix("mailto:"), page.source_snippet(str(value)))
    windows = _around_at(page.text)
    for window in windows:
        for match in EMAIL.finditer(window):
            add(match.group(1), page.snippet(match.group(1)))
    for match in (m for window in windows for m in OBFUSCATED.finditer(window)):
        whole = match.group(0)
        if "@" in whole and EMAIL.fullmatch(whole.strip()):
            continue
        if not re.search(r"\[|\(|\{|<|\s@|@\s", whole):
            continue
        domain = ".".join(part for part in _DOT_SPLIT.split(match.group(2)) if part)
        add(f"{match.group(1)}@{domain}", page.snippet(whole))
    return list(facts.values())


def _values(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# The plainest addresses (ASCII dot-atom local part, letter-only top-level domain): a strict subset of what
# email-validator accepts, checked in one regex. Anything else goes through email-validator itself; a
# property test holds the two to the same answer.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]{1,64}(?:\.[a-z0-9_%+-]+)*@((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})", re.IGNORECASE
)
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def plain_email(raw: str) -> str | None:
    """The lower-cased address when it has the plainest shape, else None (then ask email-validator)."""
    match = _PLAIN_EMAIL.fullmatch(raw)
    if match is None or len(raw) > 254 or raw.index("@") > 64:
        return None
    domain = match.group(1)
    if len(domain) > 253 or "--" in domain or domain.rsplit(".", 1)[1].lower() in _SPECIAL_USE:
        return None
    return raw.lower()
