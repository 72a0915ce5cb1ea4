"""Website analysis quality and speed on the fixture sites' ground truth.

    PYTHONPATH=. .venv/bin/python bench/extract.py [--sites 300] [--seed 7]
    PYTHONPATH=. .venv/bin/python bench/extract.py --real [/work/shared/data/realpages] [--peers]

``--real`` reads the real-page corpus that bench/realpages/build.py rebuilds (manifest.tsv and
labels.jsonl: what each page declares) instead of the generated sites. People (names with a role) are
scored on the pages bench/realpages/people_labels.jsonl labels by hand: 40 pages sampled from the
manifest with random.Random(14) (the "tuning" sample the byline rules were adjusted on) and 20 more
with random.Random(41) (the "held-out" sample, labelled before the extractor was run on them). A label
is a page's own byline authors and the people it presents as the company's (a JSON-LD founder), read
off the page's author markup, meta/JSON-LD authors and its "By …" text; not people the text is about,
not commenters, not authors of related articles, not organisations ("Reuters", "Editorial Staff"). Technologies are scored over
the vocabulary the labeller knows (bench/realpages/build.py TECH_RULES): a technology outside it is
neither a hit nor a false positive, since no label says whether the page has it.

Prints precision and recall per field (emails, phones, socials, address, tech, name) over every
site, and extraction pages/s on one core (CPU time), side by side with the time per page that
newspaper4k and trafilatura need for metadata alone on the same pages — the cost of a general
extractor that finds none of the contact fields. Goals: email and phone recall >= 95 % with
precision >= 98 %, socials >= 95/98, extraction >= 200 pages/s on one core.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore")

from core.crawl.decode import decode_html  # noqa: E402
from core.errors import LeadScoutError  # noqa: E402
from core.extract.models import PageInput  # noqa: E402
from core.extract.profile import extract_site  # noqa: E402
from core.extract.socials import canonical_profile  # noqa: E402
from tests.fixtures.sites import FixtureSite, generate_sites  # noqa: E402

MAX_BYTES = 2_000_000  # the crawler's default cap


def page_input(url: str, body: bytes, content_type: str, truncated: bool = False) -> PageInput:
    """What the crawler hands extraction: the decoded HTML and, when the body was UTF-8, its bytes."""
    try:
        from core.crawl.decode import read_html
    except ImportError:  # an older tree (the "before" figures)
        markup, _ = decode_html(body, content_type, truncated=truncated)
        return PageInput(url=url, html=markup)
    decoded = read_html(body, content_type, truncated=truncated)
    return PageInput(url=url, html=decoded.text, html_utf8=decoded.utf8)


def site_pages(site: FixtureSite) -> list[PageInput]:
    """The HTML pages a crawler would get from the site (200, HTML, within the size cap)."""
    pages = []
    for path, response in site.pages.items():
        headers = dict(response.headers)
        if response.status != 200 or "html" not in headers.get("Content-Type", ""):
            continue
        body = gzip.decompress(response.body) if headers.get("Content-Encoding") == "gzip" else response.body
        if len(body) > MAX_BYTES:
            body = body[:MAX_BYTES]
        try:
            pages.append(
                page_input(f"http://{site.host}{path}", body, headers.get("Content-Type", ""), len(body) == MAX_BYTES)
            )
        except LeadScoutError:
            continue
    pages.sort(key=lambda p: (not p.url.endswith("/"), p.url))  # home page first
    return pages


def social_key(url: str) -> str:
    found = canonical_profile(url)
    return found[1].lower() if found else url.lower()


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


class Score:
    """True positives, false positives and false negatives of one field."""

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, found: set[str], truth: set[str]) -> None:
        self.tp += len(found & truth)
        self.fp += len(found - truth)
        self.fn += len(truth - found)

    def row(self, name: str) -> str:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return f"{name:<9} {self.tp:>6} {self.fp:>5} {self.fn:>5} {precision:>9.1%} {recall:>8.1%}"


def fold_name(name: str) -> str:
    """A name compared loosely: case, accents and spacing ignored."""
    import unicodedata

    text = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


def people_scores(folder: Path, profiles: dict[str, Any]) -> None:
    """Precision and recall of people (and of their roles) on the hand-labelled pages."""
    import json

    labelled = Path(__file__).resolve().parent / "realpages" / "people_labels.jsonl"
    if not labelled.exists():
        print("people: no hand labels (bench/realpages/people_labels.jsonl)")
        return
    rows = [json.loads(line) for line in labelled.read_text(encoding="utf-8").splitlines()]
    print(f"\npeople on hand-labelled real pages of {folder} (bench/realpages/people_labels.jsonl)")
    print(f"{'sample':<9} {'field':<10} {'pages':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>8}")
    for sample in ("tuning", "held-out"):
        names, roles = Score(), Score()
        misses: list[str] = []
        extras: list[str] = []
        pages = 0
        for row in rows:
            profile = profiles.get(row["url"])
            if profile is None or row.get("sample", "tuning") != sample:
                continue
            pages += 1
            found = {fold_name(p["name"]): p["role"] for p in profile.people}
            truth = {fold_name(p["name"]): p["role"] for p in row["people"]}
            names.add(set(found), set(truth))
            roles.add({f"{n}|{r}" for n, r in found.items()}, {f"{n}|{r}" for n, r in truth.items()})
            misses.extend(sorted(set(truth) - set(found)))
            extras.extend(sorted(set(found) - set(truth)))
        for label, score in (("people", names), ("name+role", roles)):
            precision = score.tp / (score.tp + score.fp) if score.tp + score.fp else 1.0
            recall = score.tp / (score.tp + score.fn) if score.tp + score.fn else 1.0
            print(
                f"{sample:<9} {label:<10} {pages:>5} {score.tp:>4} {score.fp:>4} {score.fn:>4} {precision:>9.1%} {recall:>8.1%}"
            )
        print(f"{'':<9} misses: {misses}")
        print(f"{'':<9} extras: {extras}")


def peers(pages: list[PageInput]) -> list[tuple[str, float, str]]:
    """CPU seconds of newspaper4k and trafilatura on the same pages (metadata and text, no contacts)."""
    from newspaper import Article
    from trafilatura import bare_extraction

    started = time.process_time()
    for page in pages:
        article = Article(page.url, fetch_images=False)
        article.download(input_html=page.html)
        try:
            article.parse()
        except Exception:  # noqa: BLE001, S112 - a peer failing on a page still cost its time
            continue
    newspaper_cpu = time.process_time() - started
    started = time.process_time()
    for page in pages:
        bare_extraction(page.html, url=page.url, only_with_metadata=False, with_metadata=True, fast=True)
    trafilatura_cpu = time.process_time() - started
    return [
        ("newspaper4k Article.parse", newspaper_cpu, "title, authors, date, text (no contacts)"),
        ("trafilatura bare_extraction", trafilatura_cpu, "metadata and main text, fast mode"),
    ]


def real(folder: Path, with_peers: bool) -> None:
    """Quality and speed on the real-page corpus."""
    import json

    from core.extract.profile import extract_page

    try:
        from core.extract.fingerprints import fingerprints
    except ImportError:  # an older tree (the "before" figures): hand-written fingerprints, nothing to compile
        fingerprints = dict  # type: ignore[assignment]

    sys.path.insert(0, str(Path(__file__).resolve().parent / "realpages"))
    from build import TECH_RULES  # type: ignore[import-not-found]

    vocabulary = {name for name, _, _ in TECH_RULES}
    labels = {row["url"]: row for row in map(json.loads, (folder / "labels.jsonl").read_text().splitlines())}
    pages = []
    for line in (folder / "manifest.tsv").read_text().splitlines():
        path, _, url = line.partition("\t")
        pages.append(page_input(url, Path(path).read_bytes(), "text/html"))
    started = time.process_time()
    try:
        from core.extract.fingerprints import allow_freezing_long_lived_objects

        allow_freezing_long_lived_objects()  # as a worker and the CLI do (the UI process does not)
    except ImportError:  # an older tree
        pass
    try:  # once per process, not a per-page cost: as the CLI does
        from core.extract.profile import load_process_tables
    except ImportError:  # an older tree
        fingerprints()
        import newspaper.extractors.pubdate_extractor  # noqa: F401
    else:
        load_process_tables()

    extract_page(pages[0])  # first-use caches
    print(
        f"start-up (fingerprints compiled, newspaper4k and country tables loaded): {time.process_time() - started:.2f} s CPU"
    )
    scores = {field: Score() for field in ("emails", "phones", "socials", "tech", "name")}
    times = []
    profiles = {}
    misses: dict[str, int] = {}
    extras: dict[str, int] = {}
    for page in pages:
        started = time.process_time()
        profile = extract_page(page)
        times.append((time.process_time() - started, page.url))
        profiles[page.url] = profile
        truth = labels[page.url]
        scores["emails"].add(set(profile.emails), set(truth["emails"]))
        scores["phones"].add(set(profile.phones), set(truth["phones"]))
        scores["socials"].add(
            {social_key(u) for u in profile.socials.values()}, {social_key(u) for u in truth["socials"]}
        )
        found_tech = set(profile.tech) & vocabulary
        scores["tech"].add(found_tech, set(truth["tech"]))
        for name in set(truth["tech"]) - found_tech:
            misses[name] = misses.get(name, 0) + 1
        for name in found_tech - set(truth["tech"]):
            extras[name] = extras.get(name, 0) + 1
        if truth["name"]:
            scores["name"].add({norm(profile.name)} - {""}, {norm(truth["name"])})
    ours = sum(t for t, _ in times)
    hosts = {row["host"] for row in labels.values()}
    print(f"{len(pages)} real pages from {len(hosts)} sites, {folder}, one core (CPU time)\n")
    print(f"{'field':<9} {'tp':>6} {'fp':>5} {'fn':>5} {'precision':>9} {'recall':>8}")
    print("-" * 46)
    for field, score in scores.items():
        print(score.row(field))
    print(f"\ntech misses: {sorted(misses.items(), key=lambda kv: -kv[1])}")
    print(f"tech extras: {sorted(extras.items(), key=lambda kv: -kv[1])}")
    people_scores(folder, profiles)
    print()
    rows = [("LeadScout extract_page", ours, "name, contacts, socials, address, hours, tech, posts")]
    if with_peers:
        rows.extend(peers(pages))
    print(f"{'extractor':<28} {'ms/page':>8} {'pages/s':>8}  what it extracts")
    print("-" * 84)
    for name, cpu, what in rows:
        print(f"{name:<28} {cpu / len(pages) * 1000:>8.2f} {len(pages) / cpu:>8.0f}  {what}")
    times.sort(reverse=True)
    ordered = sorted(t for t, _ in times)
    print(f"\nLeadScout median {ordered[len(ordered) // 2] * 1000:.2f} ms/page, worst pages:")
    for cpu, url in times[:3]:
        print(f"  {cpu * 1000:8.1f} ms  {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--real", nargs="?", const="/work/shared/data/realpages", default=None, type=Path)
    parser.add_argument("--peers", action="store_true", help="with --real: time newspaper4k and trafilatura too")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the goal says
    if args.real:
        real(args.real, args.peers)
        return

    sites = generate_sites(args.sites, seed=args.seed)
    corpus = [(site, site_pages(site)) for site in sites]
    corpus = [(site, pages) for site, pages in corpus if pages]
    all_pages = [page for _, pages in corpus for page in pages]
    scores = {field: Score() for field in ("emails", "phones", "socials", "address", "tech", "tech, all", "name")}
    # as on the real corpus, technologies are scored over the names the generator puts on pages: what a
    # detected technology implies (WordPress -> PHP, MySQL) is neither a hit nor a false positive there;
    # "tech, all" counts every name
    vocabulary = {name for site, _ in corpus for name in site.truth.tech}

    started = time.process_time()
    profiles = [extract_site(pages) for _, pages in corpus]
    ours = time.process_time() - started

    for (site, _pages), profile in zip(corpus, profiles, strict=True):
        truth = site.truth
        scores["emails"].add(set(profile.emails), set(truth.emails))
        scores["phones"].add(set(profile.phones), set(truth.phones))
        scores["socials"].add({social_key(u) for u in profile.socials.values()}, {social_key(u) for u in truth.socials})
        scores["address"].add({norm(profile.address)} - {""}, {norm(truth.address)} - {""})
        scores["tech"].add(set(profile.tech) & vocabulary, set(truth.tech))
        scores["tech, all"].add(set(profile.tech), set(truth.tech))
        scores["name"].add({profile.name} - {""}, {truth.name})

    from newspaper import Article
    from trafilatura import bare_extraction

    started = time.process_time()
    for page in all_pages:
        article = Article(page.url, fetch_images=False)
        article.download(input_html=page.html)
        article.parse()
    newspaper_cpu = time.process_time() - started

    started = time.process_time()
    for page in all_pages:
        bare_extraction(page.html, url=page.url, only_with_metadata=False, with_metadata=True, fast=True)
    trafilatura_cpu = time.process_time() - started

    print(f"{len(corpus)} fixture sites, {len(all_pages)} pages, one core (CPU time)\n")
    print(f"{'field':<9} {'tp':>6} {'fp':>5} {'fn':>5} {'precision':>9} {'recall':>8}")
    print("-" * 46)
    for field, score in scores.items():
        print(score.row(field))
    print()
    print(f"{'extractor':<28} {'ms/page':>8} {'pages/s':>8}  what it extracts")
    print("-" * 84)
    for name, cpu, what in (
        ("LeadScout extract_site", ours, "name, contacts, socials, address, hours, tech, posts"),
        ("newspaper4k Article.parse", newspaper_cpu, "title, authors, date, text (no contacts)"),
        ("trafilatura bare_extraction", trafilatura_cpu, "metadata and main text, fast mode"),
    ):
        print(f"{name:<28} {cpu / len(all_pages) * 1000:>8.2f} {len(all_pages) / cpu:>8.0f}  {what}")


if __name__ == "__main__":
    main()
