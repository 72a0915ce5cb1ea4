"""An incoming mail's bytes to an ``Incoming``: addresses, threading headers, the new text of a reply."""

from __future__ import annotations

import email
import re
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from mailparser_reply import EmailReplyParser
from mailparser_reply.parser import EmailMessage as ReplyText
from mailparser_reply.parser import EmailReply
from selectolax.lexbor import LexborHTMLParser

from core.db.models import utcnow
from core.replies.models import Incoming

CLASSIFY_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "precedence",
    "x-precedence",
    "list-id",
    "return-path",
    "content-type",
    "x-failed-recipients",
)
REPLY_LANGUAGES = ["en", "de", "fr", "es", "nl", "it"]
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_MAX_TEXT = 200_000  # a reply longer than this is cut: nobody reads more in an inbox
_reply_parser = EmailReplyParser(languages=REPLY_LANGUAGES)
# mail-parser-reply builds its three patterns from its language tables for every mail (its cache is per
# mail): about a fifth of its time. Built once here and handed to each mail. The header and signature
# patterns get a guard in front: each header branch starts at a line start (``^``, multi-line) or at a
# "\n", and each signature branch at a line start or at white space (``\s*^``, ``\n{2,}``), so positions
# elsewhere are refused at once instead of by a dozen branches each (same matches, same groups:
# tests/unit/test_reply_text.py); 210 -> 130 us of the reader's time a mail for the header guard.
_template = ReplyText(text="", languages=_reply_parser.languages)
_PATTERNS = {
    "_header_regex": re.compile(rf"(?:^|(?=\n))(?:{_template.HEADER_REGEX.pattern})", _template.HEADER_REGEX.flags),
    "_disclaimers_regex": _template.DISCLAIMERS_REGEX,
    "_signature_regex": re.compile(
        rf"(?:^|(?=\s))(?:{_template.SIGNATURE_REGEX.pattern})", _template.SIGNATURE_REGEX.flags
    ),
}


def _fields(message: Message) -> dict[str, str]:
    """The mail's header fields by lower-case name, the first of a name as ``Message.get`` gives it; read
    once: ``get`` walks every header for each name asked for, and a mail is asked for about twenty."""
    fields: dict[str, str] = {}
    for name, value in message.items():
        fields.setdefault(name.lower(), value)
    return fields


def _header(fields: dict[str, str], name: str) -> str:
    """A header as text (RFC 2047 words decoded), or "" — a malformed header never stops a mail being read."""
    value = fields.get(name)
    if value is None:
        return ""
    text = str(value)
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (ValueError, LookupError, UnicodeError, HeaderParseError):
            pass
    return " ".join(text.split())


# The forms nearly every From, To and Cc takes — "Name <a@b.c>", "<a@b.c>", "a@b.c" — read by one pattern;
# anything else (quotes, comments, groups, encoded words) goes to the standard library's parser, which
# reads the simple forms the same way (tests/unit/test_reply_addresses.py) at about ten times the cost.
_ADDRESS = r"[A-Za-z0-9_%+-][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_SIMPLE_ADDRESS = re.compile(rf"(?:([A-Za-z0-9'-]+(?: [A-Za-z0-9'-]+)*) <({_ADDRESS})>|<({_ADDRESS})>|({_ADDRESS}))")


def _simple(text: str) -> tuple[str, str] | None:
    found = _SIMPLE_ADDRESS.fullmatch(text)
    if found is None:
        return None
    name, named, angled, bare = found.groups()
    return (name, named) if named else ("", angled or bare)


def _sender(value: str) -> tuple[str, str]:
    """(name, address) of a From header, as ``email.utils.parseaddr`` reads it."""
    return _simple(value) or parseaddr(value)


def _recipients(values: list[str]) -> tuple[str, ...]:
    """The addresses of To and Cc headers, lower-cased, as ``email.utils.getaddresses`` reads them."""
    pieces = [piece.strip() for value in values for piece in value.split(",")]
    simple = [_simple(piece) for piece in pieces if piece]
    if all(simple):
        return tuple(address.lower() for _, address in simple if address)  # type: ignore[misc]
    return tuple(address.lower() for _, address in getaddresses(values) if address)


def _ids(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(match.lower() for match in _MESSAGE_ID.findall(text)))


def _html_to_text(html: str) -> str:
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, head"):
        node.decompose()
    body = tree.body or tree.root
    return body.text(separator="\n") if body is not None else ""


def _body_part(message: Message) -> Message | None:
    """The part a person would read: the first text/plain that is not an attachment, else text/html."""
    html = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        if str(part.get("content-disposition", "")).lower().startswith("attachment"):
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            return part
        if kind == "text/html" and html is None:
            html = part
    return html


def _text(message: Message) -> str:
    part = _body_part(message)
    if part is None:
        return ""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        content = payload.decode(charset, "replace")
    except LookupError:  # an unknown charset name: read it as UTF-8 and keep going
        content = payload.decode("utf-8", "replace")
    if part.get_content_type() == "text/html":
        content = _html_to_text(content)
    return content.replace("\r\n", "\n")[:_MAX_TEXT]


def _returned_headers(message: Message) -> list[Message]:
    """The original message's headers that a bounce carries back (message/rfc822 or text/rfc822-headers)."""
    found: list[Message] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                found.append(payload[0])
        elif kind == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                found.append(email.message_from_bytes(raw, policy=policy.compat32))
    return found


def new_text_of(text: str) -> str:
    """The reply's own words: quoted history and the signature removed (mail-parser-reply)."""
    if not text.strip():
        return ""
    try:
        stripped = _first_reply_body(text)
    except Exception:  # noqa: BLE001 - a parser slip must not lose the mail: show it whole
        stripped = text
    return (stripped or text).strip()


def _first_reply_body(text: str) -> str:
    """mail-parser-reply's ``read().replies[0].body``, found the way ``read`` finds it but only as far as the
    first reply. ``read`` splits the whole text at every quote header and looks for signatures and
    disclaimers in each quoted message too, which is most of its time on a reply with a history; only the
    first reply is kept. The same steps in the same order: the headers in the order ``findall`` lists them
    (each match's non-empty groups), each found with ``str.find`` from where the last one was, and empty
    parts skipped. Held to the library's own answers by tests/unit/test_reply_text.py."""
    mail = ReplyText(text=text, languages=_reply_parser.languages, **_PATTERNS)  # normalises the text
    body = mail.text
    current, previous = 0, ""
    for match in mail.HEADER_REGEX.finditer(body):
        for header in filter(None, match.groups()):
            position = body.find(header, current + 1 if current > 0 else current)
            if body[current:position].strip():
                return _reply_body(mail, body[current:position], previous)
            current, previous = (position if position >= 0 else 0), header
    return _reply_body(mail, body[current:], previous)


def _reply_body(mail: ReplyText, content: str, header: str) -> str:
    disclaimers, signatures = mail._process_signatures_disclaimers(content)
    return EmailReply(headers=header, content=content, signatures=signatures, disclaimers=disclaimers).body


def message_from_bytes(raw: bytes) -> Message:
    """The mail as Python's ``email`` package reads it (compat32: headers stay strings until asked for,
    several times faster than the modern policy's header objects on a mailbox of thousands)."""
    return email.message_from_bytes(raw, policy=policy.compat32)


def parse_mail(message: Message, *, source: str, fallback_key: str, received_at: datetime | None = None) -> Incoming:
    """Read one mail; ``fallback_key`` names it when it has no Message-ID (e.g. the mailbox position)."""
    fields = _fields(message)
    from_name, from_address = _sender(_header(fields, "from"))
    to_addresses = _recipients([_header(fields, "to"), _header(fields, "cc")])
    message_ids = _ids(_header(fields, "message-id"))
    date = _header(fields, "date")
    try:
        sent_at = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        sent_at = None
    if sent_at is not None and sent_at.tzinfo is None:
        sent_at = None
    returned = _returned_headers(message)
    text = _text(message)
    return Incoming(
        source=source,
        source_key=message_ids[0] if message_ids else fallback_key,
        from_address=from_address.strip().lower(),
        from_name=from_name.strip()[:200],
        to_addresses=to_addresses,
        subject=_header(fields, "subject")[:500],
        message_id=(_MESSAGE_ID.findall(_header(fields, "message-id")) or [""])[0][:512],  # as written
        in_reply_to=(_ids(_header(fields, "in-reply-to")) or ("",))[0],
        references=_ids(_header(fields, "references")),
        received_at=received_at or sent_at or utcnow(),
        text=text,
        new_text=new_text_of(text),
        headers={name: value for name in CLASSIFY_HEADERS if (value := _header(fields, name))},
        original_ids=tuple(dict.fromkeys(i for part in returned for i in _ids(_header(_fields(part), "message-id")))),
        original_message_refs=tuple(
            dict.fromkeys(v for part in returned if (v := _header(_fields(part), "x-leadscout-message").strip()))
        ),
    )
