"""How commands print: JSON on stdout for programs, messages on stderr for people."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout."""
    print(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def fail(message: str, code: int = 1) -> int:
    """Print an error for a person on stderr and return the exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code
