"""Rebuild the real-page corpus from public repository snapshots (pages are never committed).

    PYTHONPATH=. .venv/bin/python bench/realpages/build.py [--mirror /work/.mirror] [--out /work/shared/data/realpages]

Sources (bare git snapshots brought in with the search tool's ``fetch``; each repository's licence is
checked below, the pages themselves stay the sites' and are therefore rebuilt, not committed):

- scrapinghub/article-extraction-benchmark (MIT): ``html/*.html.gz`` with their URLs in ``ground-truth.json``
- postlight/parser (MIT / Apache-2.0): ``fixtures/<host>.html``
- mozilla/readability (Apache-2.0): ``test/test-pages/*/source.html`` (synthetic pages without a
  canonical URL are left out)

Left out on purpose: the sdists of formasaurus, htmldate, trafilatura and inscriptis (held back for an
independent check).

Writes ``pages/<id>.html``, ``manifest.tsv`` (path<TAB>url, what ``python -m core extract --manifest``
reads) and ``labels.jsonl``: per page what the page declares itself — ``mailto:`` and ``tel:`` links,
JSON-LD / ``og:site_name`` names, social profile links, and technologies from generator meta, script
hosts and inline snippets (the rules in ``TECH_RULES``, written independently of core/extract).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import phonenumbers
from selectolax.lexbor import LexborHTMLParser

SOURCES = {
    # repository -> licence file that must exist and the licence words it must contain
    "scrapinghub+article-extraction-benchmark": ("LICENSE", "MIT License"),
    "postlight+parser": ("LICENSE-MIT", "MIT"),
    "mozilla+readability": ("LICENSE.md", "Apache License"),
}
EXCLUDED = ("formasaurus", "htmldate", "trafilatura", "inscriptis")

# name (Wappalyzer spelling) -> (where, regex); where: src (script src), link (link/img href/src),
# inline (inline script text), generator (meta generator), html (raw markup)
TECH_RULES: list[tuple[str, str, str]] = [
    ("WordPress", "generator", r"^wordpress"),
    ("WordPress", "src", r"/wp-(content|includes)/"),
    ("WordPress", "link", r"/wp-(content|includes)/"),
    ("Drupal", "generator", r"^drupal"),
    ("Drupal", "src", r"/misc/drupal\.js|drupal\.js|/sites/(all|default)/(modules|themes)/"),
    ("Drupal", "inline", r"jQuery\.extend\(Drupal\.settings|Drupal\.settings\s*="),
    ("Joomla", "generator", r"joomla"),
    ("Magento", "src", r"/skin/frontend/|/js/mage/|/static/version\d+/"),
    ("Magento", "html", r"text/x-magento-init"),
    ("Shopify", "src", r"cdn\.shopify\.com"),
    ("Squarespace", "generator", r"squarespace"),
    ("Wix", "generator", r"wix\.com"),
    ("Blogger", "generator", r"^blogger"),
    ("Ghost", "generator", r"^ghost"),
    (
        "Google Analytics",
        "src",
        r"google-analytics\.com/(ga|urchin|analytics)\.js|googletagmanager\.com/gtag/js\?id=(G|UA)-",
    ),
    (
        "Google Analytics",
        "inline",
        r"_gaq\.push|urchinTracker|google-analytics\.com/(analytics|ga)\.js|"
        r"\bga\(\s*['\"]create['\"]|gtag\(\s*['\"]config['\"]\s*,\s*['\"](G|UA)-",
    ),
    ("Google Tag Manager", "src", r"googletagmanager\.com/gtm\.js"),
    ("Google Tag Manager", "inline", r"googletagmanager\.com/gtm\.js"),
    ("Google Tag Manager", "html", r"googletagmanager\.com/ns\.html\?id=GTM-"),
    ("Matomo Analytics", "src", r"piwik\.js|matomo(\.min)?\.js"),
    ("Matomo Analytics", "inline", r"_paq\.push"),
    ("Hotjar", "src", r"static\.hotjar\.com"),
    ("Hotjar", "inline", r"static\.hotjar\.com"),
    ("Facebook Pixel", "src", r"connect\.facebook\.net/[^\"']*/fbevents\.js"),
    ("Facebook Pixel", "inline", r"fbq\(\s*['\"]init['\"]"),
    ("Chartbeat", "src", r"chartbeat(_mab|_video)?\.js"),
    ("Chartbeat", "inline", r"static\.chartbeat\.com/js/chartbeat"),
    ("comScore", "src", r"scorecardresearch\.com/beacon\.js"),
    ("comScore", "inline", r"scorecardresearch\.com/beacon\.js"),
    ("Quantcast Measure", "src", r"quantserve\.com/quant\.js"),
    ("Quantcast Measure", "inline", r"quantserve\.com/quant\.js"),
    ("Optimizely", "src", r"cdn\.optimizely\.com/"),
    ("Disqus", "src", r"\.disqus\.com/embed\.js"),
    ("Disqus", "inline", r"\.disqus\.com/embed\.js"),
    ("AddThis", "src", r"addthis\.com/js/"),
    ("OneTrust", "src", r"cdn\.cookielaw\.org|otSDKStub\.js"),
    ("Cookiebot", "src", r"consent\.cookiebot\.com"),
    ("Google Publisher Tag", "src", r"(googletagservices\.com|securepubads\.g\.doubleclick\.net)/tag/js/gpt\.js"),
    ("Google Publisher Tag", "inline", r"(googletagservices\.com|securepubads\.g\.doubleclick\.net)/tag/js/gpt\.js"),
    ("Segment", "src", r"cdn\.segment\.com/analytics\.js"),
    ("Segment", "inline", r"cdn\.segment\.com/analytics\.js"),
    ("Twitter", "src", r"platform\.twitter\.com/widgets\.js"),
    ("Taboola", "src", r"cdn\.taboola\.com/libtrc/"),
    ("Taboola", "inline", r"cdn\.taboola\.com/libtrc/"),
    ("Outbrain", "src", r"outbrain\.com/.+\.js"),
    ("Sailthru", "metaname", r"^sailthru\."),
    ("Adobe Fonts", "src", r"use\.typekit\.(com|net)/"),
    ("Adobe Fonts", "link", r"use\.typekit\.(com|net)/"),
    ("Sailthru", "src", r"ak\.sail-horizon\.com"),
    ("Tealium", "src", r"tags\.tiqcdn\.com/utag/"),
    ("Tealium", "inline", r"tags\.tiqcdn\.com/utag/"),
    ("Ensighten", "src", r"nexus\.ensighten\.com/"),
    ("Google AdSense", "src", r"pagead2\.googlesyndication\.com/pagead/js/adsbygoogle\.js"),
    ("Criteo", "src", r"\.criteo\.(net|com)/"),
    ("Stripe", "src", r"js\.stripe\.com"),
    ("Intercom", "src", r"widget\.intercom\.io|js\.intercomcdn\.com"),
    ("HubSpot", "src", r"js\.hs-scripts\.com"),
    ("Calendly", "src", r"assets\.calendly\.com"),
    ("Zendesk", "src", r"static\.zdassets\.com"),
    ("jQuery", "src", r"/jquery([.-]\d[\d.]*)?(-wp)?(\.min)?(\.[0-9a-f]{8,})?\.js|/jquery-migrate|/bundles/jquery\b"),
    ("Modernizr", "src", r"modernizr[^/]*\.js"),
    ("RequireJS", "src", r"/require([.-]\d[\d.]*)?(\.min)?\.js"),
    ("Font Awesome", "src", r"font-?awesome[^/]*\.(css|js)|use\.fontawesome\.com"),
    ("Bootstrap", "src", r"/(?-i:bootstrap)([.-]\d[\d.]*)?(\.bundle)?(\.min)?(\.[0-9a-f]{8,})?\.(css|js)\b"),
]
_RULES = [(name, where, re.compile(pattern, re.I)) for name, where, pattern in TECH_RULES]
SOCIAL = re.compile(
    r"^https?://(www\.)?(facebook\.com|twitter\.com|x\.com|instagram\.com|linkedin\.com/company|youtube\.com/(user|channel|c))"
    r"/[A-Za-z0-9._@-]{2,}/?$",
    re.I,
)
SOCIAL_NEVER = re.compile(r"/(sharer|share|intent|dialog|home|plugins|hashtag|search|login|signup|tr)\b", re.I)


def git(mirror: Path, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={mirror}", *args], check=True, capture_output=True).stdout


def files(mirror: Path) -> list[str]:
    return git(mirror, "ls-tree", "-r", "--name-only", "HEAD").decode().splitlines()


def blob(mirror: Path, path: str) -> bytes:
    data = git(mirror, "show", f"HEAD:{path}")
    return gzip.decompress(data) if path.endswith(".gz") else data


def decode(raw: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def declared_url(markup: str) -> str:
    tree = LexborHTMLParser(markup[:300_000])
    for selector, attr in (('link[rel="canonical"]', "href"), ('meta[property="og:url"]', "content")):
        node = tree.css_first(selector)
        value = (node.attributes.get(attr) or "").strip() if node is not None else ""
        if value.startswith("http") and "fakehost" not in value:
            return value
    return ""


def collect(root: Path) -> list[tuple[str, str, str]]:
    """(source, url, markup) for every usable page of every source."""
    pages: list[tuple[str, str, str]] = []
    for name, (licence, words) in SOURCES.items():
        mirror = root / name / "repo"
        if not mirror.exists():
            print(f"skip {name}: no snapshot at {mirror} (fetch github:{name.replace('+', '/')})", file=sys.stderr)
            continue
        if words not in blob(mirror, licence).decode("utf-8", "replace"):
            raise SystemExit(f"{name}: {licence} does not say {words!r}; check the licence before using it")
        listing = files(mirror)
        if name.startswith("scrapinghub"):
            truth = json.loads(blob(mirror, "ground-truth.json"))
            for path in listing:
                if path.startswith("html/") and path.endswith(".html.gz"):
                    key = path[5:-8]
                    if key in truth and truth[key].get("url"):
                        pages.append((name, truth[key]["url"], decode(blob(mirror, path))))
        elif name.startswith("postlight"):
            for path in listing:
                if path.startswith("fixtures/") and path.count("/") == 1 and path.endswith(".html"):
                    markup = decode(blob(mirror, path))
                    host = path[9:-5].split("--")[0]
                    pages.append((name, declared_url(markup) or f"https://{host}/", markup))
        else:
            for path in listing:
                if path.startswith("test/test-pages/") and path.endswith("/source.html"):
                    markup = decode(blob(mirror, path))
                    url = declared_url(markup)
                    if url and len(markup) > 5000:
                        pages.append((name, url, markup))
    return pages


def e164(raw: str, host: str) -> str:
    tld = host.rsplit(".", 1)[-1].upper()
    region = {"COM": "US", "ORG": "US", "NET": "US", "UK": "GB"}.get(tld, tld if len(tld) == 2 else "US")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def labels(url: str, markup: str) -> dict[str, object]:
    """What the page declares itself."""
    tree = LexborHTMLParser(markup)
    host = (urlsplit(url).hostname or "").lower()
    emails, phones, socials, tech = set(), set(), set(), {}
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        low = href.lower()
        if low.startswith("mailto:"):
            address = unquote(href[7:]).split("?")[0].strip().lower()
            if re.fullmatch(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}", address):
                emails.add(address)
        elif low.startswith("tel:"):
            if found := e164(unquote(href[4:]), host):
                phones.add(found)
        else:
            absolute = urljoin(url, href) if href.startswith(("/", "http")) else href
            if SOCIAL.match(absolute) and not SOCIAL_NEVER.search(absolute):
                socials.add(absolute.rstrip("/"))
    names: list[str] = []
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text() or "")
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                stack.extend(v for k, v in item.items() if k in ("@graph", "publisher"))
                kinds = item.get("@type")
                kinds = kinds if isinstance(kinds, list) else [kinds]
                if {"Organization", "NewsMediaOrganization", "Corporation", "LocalBusiness"} & {str(k) for k in kinds}:
                    if isinstance(item.get("name"), str) and item["name"].strip():
                        names.append(item["name"].strip())
    site_name = tree.css_first('meta[property="og:site_name"]')
    if site_name is not None and (site_name.attributes.get("content") or "").strip():
        names.insert(0, (site_name.attributes.get("content") or "").strip())
    signals: dict[str, list[str]] = {
        "src": [],
        "link": [],
        "inline": [],
        "generator": [],
        "html": [re.sub(r"<!--.*?-->", "", markup, flags=re.S)],  # commented out = not on the page
        "metaname": [],
    }
    for node in tree.css("script"):
        src = node.attributes.get("src")
        if src:
            signals["src"].append(src)
        elif "ld+json" not in (node.attributes.get("type") or ""):
            signals["inline"].append(node.text() or "")
    for node in tree.css("link[href]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        if not {"dns-prefetch", "preconnect", "prefetch", "alternate", "canonical", "shortlink", "next", "prev"} & set(
            rel
        ):
            signals["link"].append(node.attributes.get("href") or "")
            signals["src"].append(node.attributes.get("href") or "")  # stylesheets, preloads, icons
    for node in tree.css("meta"):
        signals["metaname"].append(node.attributes.get("name") or node.attributes.get("property") or "")
    for node in tree.css('meta[name="generator"], meta[name="Generator"]'):
        signals["generator"].append((node.attributes.get("content") or node.attributes.get("value") or "").strip())
    for name, where, pattern in _RULES:
        if name in tech:
            continue
        for value in signals[where]:
            if match := pattern.search(value):
                tech[name] = f"{where}: {value[max(0, match.start() - 20) : match.end() + 20]}"[:200]
                break
    return {
        "url": url,
        "host": host[4:] if host.startswith("www.") else host,
        "emails": sorted(emails),
        "phones": sorted(phones),
        "socials": sorted(socials),
        "name": names[0] if names else "",
        "tech": sorted(tech),
        "tech_evidence": tech,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--out", type=Path, default=Path("/work/shared/data/realpages"))
    args = parser.parse_args()
    if any(word in str(args.mirror) for word in EXCLUDED):
        raise SystemExit("that source is held back for an independent check")
    pages = collect(args.mirror)
    (args.out / "pages").mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    manifest, lines = [], []
    for source, url, markup in pages:
        key = hashlib.sha1(url.encode()).hexdigest()[:16]
        if key in seen:
            continue
        seen.add(key)
        path = args.out / "pages" / f"{key}.html"
        path.write_text(markup, encoding="utf-8")
        manifest.append(f"{path}\t{url}")
        label = labels(url, markup)
        label.update(id=key, source=source, bytes=len(markup.encode()))
        lines.append(json.dumps(label, ensure_ascii=False))
    (args.out / "manifest.tsv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    (args.out / "labels.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    hosts = {json.loads(line)["host"] for line in lines}
    print(f"{len(lines)} pages from {len(hosts)} sites -> {args.out}")


if __name__ == "__main__":
    main()
