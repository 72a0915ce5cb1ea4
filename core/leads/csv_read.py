"""Reading the CSV files people really have: encoding and delimiter detection, header mapping."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from core.csv_safe import unguard
from core.errors import InvalidInput

csv.field_size_limit(64 * 1024 * 1024)  # a huge field is a row to reject, not a crash
DELIMITERS = (",", ";", "\t", "|")
FIELDS = (
    "company",
    "website",
    "email",
    "phone",
    "first_name",
    "last_name",
    "title",
    "city",
    "country",
    "industry",
    "notes",
    "tags",
    "sms_consent",
    "consent_source",
)
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "company": (
        "company",
        "companyname",
        "company name",
        "organisation",
        "organization",
        "business",
        "account",
        "accountname",
        "firm",
        "name",
        "firma",
        "unternehmen",
        "societe",
        "empresa",
    ),
    "website": ("website", "url", "domain", "web", "site", "homepage", "websiteurl", "webseite", "www"),
    "email": ("email", "emailaddress", "mail", "e-mail", "emailadresse", "workemail", "contactemail"),
    "phone": ("phone", "telephone", "tel", "mobile", "phonenumber", "telefon", "cell", "phone1"),
    "first_name": (
        "firstname",
        "first",
        "givenname",
        "fname",
        "vorname",
        "prenom",
        "contactname",
        "fullname",
        "contact",
        "person",
    ),
    "last_name": ("lastname", "last", "surname", "familyname", "lname", "nachname"),
    "title": ("title", "jobtitle", "position", "role", "jobrole"),
    "city": ("city", "town", "location", "ort", "stadt", "ville", "address"),
    "country": ("country", "countrycode", "land", "pays"),
    "industry": ("industry", "sector", "branche", "vertical", "secteur"),
    "notes": (
        "notes",
        "note",
        "comments",
        "comment",
        "description",
        "notizen",
        "bemerkung",
        "bemerkungen",
        "kommentar",
        "remarques",
        "notas",
    ),
    "sms_consent": ("smsconsent", "consent", "smsoptin", "optin", "smseinwilligung", "einwilligung"),
    "consent_source": ("consentsource", "consentorigin", "optinsource", "einwilligungsquelle"),
    "tags": ("tags", "tag", "labels", "label", "lists", "schlagworte", "etiketten", "etiquettes", "etiquetas"),
}


@dataclass(frozen=True)
class ParsedCsv:
    """A decoded file: how it was read, its header and its data rows (blank lines dropped)."""

    encoding: str
    delimiter: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _bomless_utf16(data: bytes) -> str:
    """The name "utf-16-le" or "utf-16-be" for UTF-16 without a byte order mark (a "Unicode text" export whose mark was
    cut off), else "". Text in Latin script is then half NUL bytes, nearly all on one side of each pair; a CSV
    in UTF-8 or a Windows code page has none."""
    sample = data[: min(len(data), 8192) // 2 * 2]
    pairs = len(sample) // 2
    if pairs < 2:
        return ""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= pairs * 0.3 and even * 10 <= odd:
        return "utf-16-le"
    if even >= pairs * 0.3 and odd * 10 <= even:
        return "utf-16-be"
    return ""


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM, UTF-16 with BOM or without (told by its NUL bytes), else
    Windows-1252, else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    if utf16 := _bomless_utf16(data):
        return data[: len(data) // 2 * 2].decode(utf16, errors="replace"), utf16
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def detect_delimiter(text: str) -> str:
    """The delimiter the header line uses most (outside quotes); a comma when nothing tells."""
    line = re.sub(r'"[^"]*"', "", _first_line(text))
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse(data: bytes, *, delimiter: str | None = None) -> ParsedCsv:
    """Decode and split a CSV file; ``InvalidInput`` when it has no header row."""
    text, encoding = decode(data)
    text = text.replace("\x00", "")
    delim = delimiter or detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, quotechar='"', doublequote=True, strict=False)
    headers: tuple[str, ...] | None = None
    rows: list[tuple[str, ...]] = []
    for record in reader:
        if not "".join(record).strip():
            continue  # blank lines (every cell empty or whitespace) are not rows
        if headers is None:
            headers = tuple(h.strip() or f"column {i + 1}" for i, h in enumerate(record))
            continue
        rows.append(tuple(record))
    if headers is None:
        raise InvalidInput("The file is empty: it needs a header row (company, website, email, ...) and data rows.")
    return ParsedCsv(encoding=encoding, delimiter=delim, headers=headers, rows=tuple(rows))


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower().replace("e-mail", "email"))


def guess_mapping(headers: tuple[str, ...] | list[str]) -> dict[str, str | None]:
    """Each field's best header (exact synonym first, then a header containing it), or None."""
    keys = {h: _key(h) for h in headers}
    mapping: dict[str, str | None] = {}
    used: set[str] = set()
    for exact in (True, False):
        for fld in FIELDS:
            if mapping.get(fld):
                continue
            for synonym in (_key(s) for s in _SYNONYMS[fld]):  # earlier synonyms are better names
                free = [h for h, k in keys.items() if h not in used and k]
                found = [h for h in free if (keys[h] == synonym if exact else len(synonym) >= 4 and synonym in keys[h])]
                if found:
                    mapping[fld] = found[0]
                    used.add(found[0])
                    break
    return {fld: mapping.get(fld) for fld in FIELDS}


def field_positions(headers: tuple[str, ...], mapping: dict[str, str | None]) -> tuple[tuple[str, int | None], ...]:
    """Each field with the index of its mapped column (None when unmapped), worked out once per file."""
    index = {h: i for i, h in enumerate(headers)}
    return tuple((fld, index.get(header) if (header := mapping.get(fld)) else None) for fld in FIELDS)


def values_at(row: tuple[str, ...], positions: tuple[tuple[str, int | None], ...]) -> dict[str, str]:
    """The mapped fields of one row (missing cells are blank, extra cells ignored)."""
    values: dict[str, str] = {}
    width = len(row)
    for fld, i in positions:
        value = row[i].strip() if i is not None and i < width else ""
        # undo our own export's formula guard, so export -> import keeps values
        values[fld] = unguard(value)
    return values
