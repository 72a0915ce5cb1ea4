"""The Wappalyzer rules that need more than a regex on a string: ``js``, ``dom`` and ``implies``.

A crawl runs no JavaScript and keeps no live DOM, so these rules are translated into what the page's own
strings show (see docs/realpages.md, "What js and dom rules can see"):

- ``js`` (a global variable exists, e.g. ``wc_add_to_cart_params``): detected where an inline script
  defines it: ``var|let|const NAME =``, ``window.NAME =``, ``window["NAME"] =``, ``function NAME(``, or a
  dotted path assigned as a statement (``Drupal.settings =``), but not a command-queue stub
  (``var googletag = googletag || {}``). A global set by an external script (most
  of them: ``jQuery.fn.jquery``, ``React``) is not seen, nor one whose rule asks for a value other than
  a string literal in the assignment (only "exists" rules and string values are read).
- ``dom`` (a CSS selector): selectors of the form ``script|link|iframe|img|a[src|href *= ^= $= = 'v']``
  (about half of all dom rules, the ones naming a host or a path; for ``a`` only values with a dot: a
  bare path word such as ``a[href*='/basket']`` matched "/basketball" on news pages) are matched as substrings of the
  script/link/iframe/img/a addresses that detection reads anyway (not share links: a WhatsApp share button
  is no WhatsApp Business Chat). The other selectors (classes, ids,
  structure) would need a CSS query per page: all of them at once cost ~15 ms a page on lexbor, three
  times the whole extraction, so they are not run.
- ``implies`` (WooCommerce implies WordPress, which implies PHP and MySQL): added after detection with the
  evidence "implied by WooCommerce"; implications the set marks with a confidence under 100 are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# where a dom selector's tag is read: the signal whose strings hold that tag's addresses
DOM_TAG_SIGNALS = {"script": "scriptSrc", "link": "scriptSrc", "iframe": "html", "a": "links", "img": "images"}
_DOM_ATTRIBUTE = re.compile(r"""^(script|link|iframe|img|a)\[(src|href)([*^$]?=)\s*(['"]?)([^'"\]]+)\4\s*\]$""")
_JS_NAME = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
# what stands in front of a global's name where a script defines it
_STATEMENT = r"(?:^|[;{}\n])\s*(?:window\.)?$"
_DEFINITION = r"(?:\b(?:var|let|const)\s+|(?<![\w$.])window\.|(?:^|[;{}\n])\s*|\bwindow\[\s*['\"])$"
_FUNCTION = r"\bfunction\s+$"
MIN_JS_NAME = 4  # "ga", "_", "app": too short a name is defined by too many pages for other reasons


@dataclass(frozen=True)
class Rule:
    """A js or dom rule as a regex on one signal's strings: the literal that must occur and the regex."""

    signal: str
    key: str  # the variable path or the selector
    anchor: str
    regex: str
    version: str
    flags: int
    before: str = ""  # a regex the text just in front of a match must match (its end is the match's start)


def _split(raw: str) -> tuple[str, str, int]:
    r"""``regex\;version:\1\;confidence:50`` -> (regex, version template, confidence)."""
    parts = raw.split("\\;")
    version, confidence = "", 100
    for extra in parts[1:]:
        if extra.startswith("version:"):
            version = extra[8:]
        elif extra.startswith("confidence:"):
            try:
                confidence = int(extra[11:])
            except ValueError:
                confidence = 0
    return parts[0], version, confidence


def js_rules(rules: Any) -> list[Rule]:
    """One rule per global variable that an inline script can be seen to define (two for a plain name that
    can also be a function declaration). The regex starts with the name (the character in front is checked
    by a lookbehind after it), so the engine jumps from one occurrence of the name to the next; ``before``
    is checked on the text in front of a match."""
    found = []
    for name, raw in (rules or {}).items() if isinstance(rules, dict) else ():
        value, version, _ = _split(str(raw))
        if not _JS_NAME.fullmatch(name) or len(name) < MIN_JS_NAME:
            continue
        escaped = re.escape(name)
        if value:
            # the value must be a string literal in the assignment, and the rule's regex must match it
            assigned = rf"\s*=\s*(['\"])(?=(?:{value.replace('^', '').replace('$', '')})\1)"
            # the quote is group 1 now: the rule's own groups (and the version's references) move up by one
            version = re.sub(r"\\(\d)", lambda m: f"\\{int(m.group(1)) + 1}", version)
        else:
            # not a command-queue stub (``var googletag = googletag || {}``, ``window._hsq = window._hsq || []``):
            # a page prepares those for a library loaded from elsewhere (Google Publisher Tag defines
            # ``googletag``, which the set reads as Google Tag Manager), so they do not show which one runs
            assigned = rf"\s*=(?!=)(?![^;\n]*?{escaped}\s*\|\|)"
        if "." in name:
            found.append(
                Rule("scripts", name, name, rf"{escaped}(?<![\w$.]{escaped}){assigned}", version, re.M, _STATEMENT)
            )
            continue
        regex = rf"{escaped}(?<![\w$.]{escaped})(?:['\"]\s*\])?{assigned}"
        found.append(Rule("scripts", name, name, regex, version, re.M, _DEFINITION))
        if not value:
            found.append(Rule("scripts", name, name, rf"{escaped}(?<![\w$.]{escaped})\s*\(", "", re.M, _FUNCTION))
    return found


def _selectors(dom: Any) -> list[tuple[str, dict[str, Any] | None]]:
    if isinstance(dom, str):
        dom = [dom]
    if isinstance(dom, list):
        return [(one.strip(), None) for text in dom for one in str(text).split(",")]
    if isinstance(dom, dict):
        return [
            (one.strip(), spec if isinstance(spec, dict) else None)
            for text, spec in dom.items()
            for one in text.split(",")
        ]
    return []


def dom_rules(dom: Any) -> list[Rule]:
    """The dom selectors that name an address (``link[href*='cdn.example.com']``) as rules on addresses."""
    found = []
    for selector, spec in _selectors(dom):
        match = _DOM_ATTRIBUTE.match(selector)
        if match is None:
            continue
        tag, attribute, operator, _, value = match.groups()
        if tag == "a" and "." not in value:
            continue  # a bare path word in any link ("/basket" in "/basketball", "/order"): not this site's
        literal = re.escape(value)
        regex = {"*=": literal, "^=": rf"^{literal}", "$=": rf"{literal}$", "=": rf"^{literal}$"}[operator]
        version = ""
        if spec:
            if set(spec) - {"attributes", "exists"}:
                continue  # a text or property condition: not readable from an address
            attributes = spec.get("attributes") or {}
            if set(attributes) - {attribute}:
                continue
            if attribute in attributes:
                condition, version, confidence = _split(str(attributes[attribute]))
                if confidence < 100 and not condition:
                    continue
                if condition:
                    regex = condition  # the rule's own regex on the address; the selector's literal anchors it
        found.append(Rule(DOM_TAG_SIGNALS[tag], selector, value, regex, version, re.I | re.M))
    return found


def implied_names(raw: Any) -> list[str]:
    """The technologies an entry implies with full confidence (``PHP\\;confidence:50`` is left out)."""
    names = []
    for one in [raw] if isinstance(raw, str) else list(raw or []):
        name, _, confidence = _split(str(one))
        if name and confidence >= 100:
            names.append(name)
    return names
