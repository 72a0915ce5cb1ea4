"""Extraction speed of this tree against another commit's, page by page in one process (paired A/B).

    PYTHONPATH=. .venv/bin/python bench/extract_ab.py main [--rounds 4] [--corpus /work/shared/data/realpages]

On a shared 2-core machine the CPU time of a page moves by a fifth from one run to the next (a CI run, other
work), so two runs of bench/extract.py in turn compare the load as much as the code. Here the other commit's
``core`` is taken out of git (``git archive``) as the package ``core_before``, and every page of the real
corpus is extracted by both in the same process, one right after the other (the order alternating), so that
both see the same load: the ratio of their CPU times is the figure. It also says whether every SiteProfile
(``dataclasses.asdict``) is the same.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

_CORE_IMPORT = re.compile(r"\b(from|import) core\b")


def checkout_as_core_before(commit: str, folder: Path) -> None:
    """``core/`` of ``commit`` written to ``folder/core_before`` with its own imports renamed."""
    archive = subprocess.run(["git", "archive", commit, "core"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "core").rename(folder / "core_before")
    for path in (folder / "core_before").rglob("*.py"):
        path.write_text(_CORE_IMPORT.sub(r"\1 core_before", path.read_text(encoding="utf-8")), encoding="utf-8")


def profile_json(profile: Any) -> str:
    return json.dumps(dataclasses.asdict(profile), sort_keys=True, ensure_ascii=False, default=str)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("commit", help="the other commit (main, a hash)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/data/realpages"))
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as bench/extract.py
    folder = Path(tempfile.mkdtemp(prefix="extract-ab-"))
    checkout_as_core_before(args.commit, folder)
    sys.path.insert(0, str(folder))

    import core_before.extract.fingerprints as before_fingerprints  # type: ignore[import-not-found]
    from core_before.extract.models import PageInput as BeforeInput  # type: ignore[import-not-found]
    from core_before.extract.profile import (  # type: ignore[import-not-found]
        extract_page as extract_page_before,
    )
    from core_before.extract.profile import load_process_tables as load_before

    import core.extract.fingerprints as after_fingerprints
    from core.crawl.decode import read_html
    from core.extract.models import PageInput
    from core.extract.profile import extract_page, load_process_tables

    for module in (before_fingerprints, after_fingerprints):
        module.allow_freezing_long_lived_objects()  # as the CLI and bench/extract.py do
    load_before()
    load_process_tables()
    pages = []
    for line in (args.corpus / "manifest.tsv").read_text().splitlines():
        path, _, url = line.partition("\t")
        decoded = read_html(Path(path).read_bytes(), "text/html")
        pages.append(
            (
                BeforeInput(url=url, html=decoded.text, html_utf8=decoded.utf8),
                PageInput(url=url, html=decoded.text, html_utf8=decoded.utf8),
            )
        )
    extract_page_before(pages[0][0])
    extract_page(pages[0][1])
    print(f"{len(pages)} pages, {args.commit} (before) against this tree (after), one core, CPU time")
    differ = 0
    ratios = []
    for round_ in range(args.rounds):
        cpu = [0.0, 0.0]
        for index, (before_input, after_input) in enumerate(pages):
            profiles: list[Any] = [None, None]
            for side in (0, 1) if (index + round_) % 2 == 0 else (1, 0):
                started = time.process_time()
                profiles[side] = extract_page_before(before_input) if side == 0 else extract_page(after_input)
                cpu[side] += time.process_time() - started
            if round_ == 0 and profile_json(profiles[0]) != profile_json(profiles[1]):
                differ += 1
        ratios.append(cpu[1] / cpu[0])
        print(
            f"round {round_ + 1}: before {cpu[0] / len(pages) * 1000:.2f} ms/page, after "
            f"{cpu[1] / len(pages) * 1000:.2f} ms/page, after/before {ratios[-1]:.3f} "
            f"(load {os.getloadavg()[0]:.1f})"
        )
    print(f"after/before {min(ratios):.3f}-{max(ratios):.3f}; SiteProfiles that differ: {differ} of {len(pages)}")


if __name__ == "__main__":
    main()
