"""``extract``: website analysis on saved HTML files, without network (one JSON object per line)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.cli.output import fail


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``extract`` subcommand."""
    parser = subparsers.add_parser("extract", help="extract a SiteProfile from saved HTML files (JSON lines)")
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--url", help="the page URL of a single file")
    parser.add_argument("--manifest", type=Path, help="TSV of path<TAB>url lines")
    parser.add_argument("--region", default="", help="default phone region, e.g. DE (else from the URL)")
    parser.set_defaults(func=run_extract)


def _jobs(args: argparse.Namespace) -> list[tuple[Path, str]]:
    jobs: list[tuple[Path, str]] = []
    if args.manifest:
        for number, line in enumerate(args.manifest.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            path, _, url = line.partition("\t")
            if not url.strip():
                raise ValueError(f"{args.manifest}:{number}: expected path<TAB>url")
            jobs.append((Path(path.strip()), url.strip()))
    if args.url and len(args.paths) > 1:
        raise ValueError("--url names the page of one file; use --manifest for several")
    for path in args.paths:
        jobs.append((path, args.url or path.resolve().as_uri()))
    return jobs


def run_extract(args: argparse.Namespace) -> int:
    """Print one JSON SiteProfile per file; unreadable files are reported on stderr."""
    from core.crawl.decode import read_html
    from core.errors import LeadScoutError
    from core.extract.fingerprints import allow_freezing_long_lived_objects
    from core.extract.models import PageInput
    from core.extract.profile import extract_page, load_process_tables

    allow_freezing_long_lived_objects()  # this process does nothing else
    load_process_tables()
    try:
        jobs = _jobs(args)
    except (OSError, ValueError) as error:
        return fail(str(error))
    if not jobs:
        return fail("give one or more HTML files, or --manifest FILE")
    failures = 0
    for path, url in jobs:
        try:
            body = path.read_bytes()
        except OSError as error:
            failures += 1
            fail(f"{path}: {error.strerror or error}")
            continue
        try:
            decoded = read_html(body, "text/html")
        except LeadScoutError as error:
            failures += 1
            fail(f"{path}: {error}")
            continue
        page = PageInput(url=url, html=decoded.text, html_utf8=decoded.utf8)
        profile = extract_page(page, region=args.region.upper())
        print(json.dumps(profile.as_json(file=str(path)), ensure_ascii=False))
    return 1 if failures else 0
