"""Versioned prompt files and the delimited data blocks that carry user or crawled text."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
_TAG = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Prompt:
    """The fixed instructions of one prompt version; user text never goes into ``system``."""

    version: str  # e.g. "strategy.v1", the file name without ".md"
    system: str
    digest: str  # sha256 of the text, so an edited file never reuses stale cache entries


@lru_cache(maxsize=32)
def load_prompt(name: str, version: int) -> Prompt:
    """Read ``prompts/<name>.v<version>.md``."""
    label = f"{name}.v{version}"
    path = PROMPTS_DIR / f"{label}.md"
    if not path.is_file():
        raise FileNotFoundError(f"No prompt file {path}")
    text = path.read_text(encoding="utf-8").strip()
    return Prompt(version=label, system=text, digest=hashlib.sha256(text.encode()).hexdigest())


def delimit(tag: str, text: str) -> str:
    """``text`` wrapped in ``<tag>…</tag>`` with <, > and & escaped, so it cannot close the block."""
    if not _TAG.match(tag):
        raise ValueError(f"invalid data tag {tag!r}")
    return f"<{tag}>\n{html.escape(text, quote=False)}\n</{tag}>"


def render_data(data: Mapping[str, str]) -> str:
    """The user message: every data item as its own delimited block, in a stable order."""
    return "\n\n".join(delimit(tag, data[tag]) for tag in sorted(data))
