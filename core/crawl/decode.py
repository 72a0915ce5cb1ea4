"""Response bodies: capped gzip decompression, HTML detection and charset decoding."""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

from core.errors import CrawlError

HTML_TYPES = ("text/html", "application/xhtml+xml")
SNIFFABLE_TYPES = ("", "text/plain", "application/octet-stream", "unknown/unknown")
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<title", b"<meta", b"<div", b"<p>")
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"RIFF")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
MAX_MESS = 0.1  # charset_normalizer's "mess" above which a decoding is garbage


class CappedGunzip:
    """Decompresses a gzip stream chunk by chunk and stops at ``cap`` output bytes."""

    def __init__(self, cap: int) -> None:
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._room = cap
        self.truncated = False

    def feed(self, chunk: bytes) -> bytes:
        """The decompressed bytes of ``chunk`` (up to the cap; sets ``truncated`` past it)."""
        if self.truncated or self._inflater.eof:
            return b""
        try:
            out = self._inflater.decompress(chunk, self._room + 1)
        except zlib.error as exc:
            raise CrawlError(f"the gzip body is corrupt ({exc})") from exc
        if len(out) > self._room or self._inflater.unconsumed_tail:
            self.truncated = True
            out = out[: self._room]
        self._room -= len(out)
        return out


def media_type(content_type: str) -> str:
    """The lower-case media type of a Content-Type header ("text/html; charset=x" -> "text/html")."""
    return content_type.split(";", 1)[0].strip().lower()


def declared_charset(content_type: str) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def looks_like_html(prefix: bytes) -> bool:
    """Sniff the first bytes of a body: True when it reads as HTML, False for binary or other text."""
    head = prefix[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(_BINARY_MAGIC) or b"\x00" in head[:512]:
        return False
    return any(marker in head for marker in _HTML_MARKERS)


def is_html_response(content_type: str, prefix: bytes) -> bool:
    """True when a response is HTML: by its declared type, or by sniffing when the type is vague."""
    kind = media_type(content_type)
    if kind in HTML_TYPES:
        return not prefix[:8].startswith(_BINARY_MAGIC)
    if kind in SNIFFABLE_TYPES:
        return looks_like_html(prefix)
    return False


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


@dataclass(frozen=True)
class DecodedHtml:
    """An HTML body decoded; ``utf8`` is ``text`` in UTF-8 when the body was exactly that (its own bytes, which
    the HTML parser reads as they are instead of the text encoded again), else None."""

    text: str
    encoding: str
    utf8: bytes | None = None


def _strict_utf8(body: bytes, truncated: bool) -> DecodedHtml | None:
    try:
        return DecodedHtml(body.decode("utf-8"), "utf-8", body)
    except UnicodeDecodeError as exc:
        # A body cut at the cap may end inside a multi-byte character: drop that tail only.
        if truncated and exc.start >= len(body) - 3 and exc.reason == "unexpected end of data":
            kept = body[: exc.start]
            return DecodedHtml(kept.decode("utf-8", errors="strict"), "utf-8", kept)
        return None


def read_html(body: bytes, content_type: str = "", *, truncated: bool = False) -> DecodedHtml:
    """Decode an HTML body: strict UTF-8, then the declared charset, then detection; never garbage."""
    if body.startswith(codecs.BOM_UTF8):
        body = body[3:]
    elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return DecodedHtml(body.decode("utf-16", errors="replace"), "utf-16")
    strict = _strict_utf8(body, truncated)
    if strict is not None:
        return strict
    meta = _META_CHARSET.search(body[:4096])
    for declared in (declared_charset(content_type), meta.group(1).decode("ascii") if meta else None):
        codec = _codec(declared)
        if codec is None or codec == "utf-8":
            continue
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            continue
        # Single-byte charsets decode anything; only keep the result when it reads as text.
        if mess_ratio(text[:20000], maximum_threshold=1.0) <= MAX_MESS:
            return DecodedHtml(text, codec)
    best = from_bytes(body[:200_000]).best()
    if best is None or best.chaos > 0.2:
        raise CrawlError("the page's character encoding could not be determined")
    codec = _codec(best.encoding) or best.encoding
    return DecodedHtml(body.decode(codec, errors="replace"), codec)


def decode_html(body: bytes, content_type: str = "", *, truncated: bool = False) -> tuple[str, str]:
    """(text, encoding) of an HTML body, as ``read_html`` decodes it."""
    decoded = read_html(body, content_type, truncated=truncated)
    return decoded.text, decoded.encoding
