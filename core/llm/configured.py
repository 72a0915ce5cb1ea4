"""The default of a service's ``llm`` argument: whatever LLM the settings configure."""

from __future__ import annotations

from typing import Any

from core.llm.client import LLM, get_llm


class _Configured:
    """The type of ``CONFIGURED``."""

    def __repr__(self) -> str:
        return "CONFIGURED"


# The default of a service's ``llm`` argument: the LLM the settings configure (``None`` means none at all).
CONFIGURED: Any = _Configured()


def resolve_llm(llm: LLM | None) -> LLM | None:
    """``llm`` itself, or the configured LLM when it is ``CONFIGURED``."""
    return get_llm() if isinstance(llm, _Configured) else llm
