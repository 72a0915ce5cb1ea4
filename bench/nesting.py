"""CPU time of the worst hostile page (181,000 nested <div>s, 1.99 MB) through the crawler's guard.

    PYTHONPATH=. .venv/bin/python bench/nesting.py [--depth 181000] [--unguarded 25000]

Prints, in CPU seconds (time.process_time): the nesting scan of the whole page, then link
extraction and site extraction on the page as the fetcher keeps it (cut at the nesting limit),
side by side with lexbor parsing an unguarded page of ``--unguarded`` nested divs (the issue
measured 0.9 s for 25,000 and 177 s for 181,000). Also the worst page the guard lets through: 2 MB
of blocks nested just under the limit. Goal: each page under 1 s of CPU in all.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from core.crawl.models import CrawlConfig  # noqa: E402
from core.crawl.nesting import nesting_cut  # noqa: E402
from core.crawl.select import extract_links  # noqa: E402
from core.extract.models import PageInput  # noqa: E402
from core.extract.profile import extract_site  # noqa: E402


def nested_page(depth: int) -> str:
    """A page of ``depth`` nested divs after a little real content."""
    head = "<!doctype html><html><head><title>Deep Nest GmbH</title></head><body><p>hello@deep.test</p>"
    return head + "<div>" * depth + "bottom" + "</div>" * depth + "</body></html>"


def cpu(action) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """CPU seconds ``action()`` took, and what it returned."""
    started = time.process_time()
    result = action()
    return time.process_time() - started, result


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int, default=181_000)
    parser.add_argument("--unguarded", type=int, default=25_000)
    args = parser.parse_args()
    limit = CrawlConfig().max_nesting
    page = nested_page(args.depth)
    scan, cut = cpu(lambda: nesting_cut(page, limit))
    kept = page if cut is None else page[:cut]
    links, _ = cpu(lambda: extract_links(kept, "http://deep.test/"))
    profile_time, profile = cpu(lambda: extract_site([PageInput(url="http://deep.test/", html=kept)]))
    print(f"hostile page: {args.depth:,} nested divs, {len(page.encode()):,} bytes; limit {limit:,} levels")
    print(f"  nesting scan            {scan:8.3f} s CPU (cut at character {cut})")
    print(f"  extract_links (cut)     {links:8.3f} s CPU")
    print(f"  extract_site (cut)      {profile_time:8.3f} s CPU  name={profile.name!r} emails={profile.emails}")  # type: ignore[attr-defined]
    print(f"  guarded total           {scan + links + profile_time:8.3f} s CPU")
    block = "<div>" * (limit - 1) + "x" + "</div>" * (limit - 1)
    under = "<html><body>" + block * (1_990_000 // len(block)) + "</body></html>"
    scan, cut = cpu(lambda: nesting_cut(under, limit))
    profile_time, _ = cpu(lambda: extract_site([PageInput(url="http://deep.test/", html=under)]))
    links, _ = cpu(lambda: extract_links(under, "http://deep.test/"))
    print(f"just under the limit: {len(under.encode()):,} bytes of blocks {limit - 1} deep (cut: {cut})")
    print(f"  scan {scan:.3f} s + extract_links {links:.3f} s + extract_site {profile_time:.3f} s CPU")
    unguarded, _ = cpu(lambda: LexborHTMLParser(nested_page(args.unguarded)))
    print(f"unguarded lexbor parse of {args.unguarded:,} nested divs: {unguarded:8.3f} s CPU")


if __name__ == "__main__":
    main()
