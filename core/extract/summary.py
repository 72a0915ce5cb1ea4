"""A short description of what a company does: from the LLM when configured, else from the pages."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from core.extract.models import Fact, PageInput
from core.extract.page import Page
from core.llm import LLM, LLMRequest, load_prompt
from core.llm.prompt import delimit

MAX_CHARS_PER_PAGE = 4000
MAX_PAGES = 5


class SummaryAnswer(BaseModel):
    """The LLM's structured answer about one company."""

    summary: str = Field(max_length=1200)
    sells: list[str] = Field(default_factory=list, max_length=6)
    industry: str = Field(default="", max_length=120)
    size_cues: list[str] = Field(default_factory=list, max_length=6)
    location: str = Field(default="", max_length=200)
    sources: list[str] = Field(default_factory=list, max_length=MAX_PAGES)


@dataclass(frozen=True)
class CompanySummary:
    """A summary with its provenance: which pages it used and whether an LLM wrote it."""

    summary: str
    industry: str
    location: str
    sells: tuple[str, ...]
    size_cues: tuple[str, ...]
    sources: tuple[str, ...]
    mode: str  # "llm" | "heuristic"
    facts: tuple[Fact, ...]


def _page_blocks(pages: list[PageInput]) -> str:

    blocks = []
    for page in pages[:MAX_PAGES]:
        text = Page(page.url, page.html).text[:MAX_CHARS_PER_PAGE]
        blocks.append(f"<page>\n{delimit('url', page.url)}\n{delimit('text', text)}\n</page>")
    return "\n".join(blocks)


def summarize_with_llm(
    *, pages: list[PageInput], llm: LLM, workspace_id: int | None = None, campaign_id: int | None = None
) -> CompanySummary:
    """Ask the LLM for a structured summary of the pages; sources are limited to the given URLs."""
    request = LLMRequest(
        purpose="summary",
        prompt=load_prompt("summary", 1),
        data={"pages": _page_blocks(pages)},
        workspace_id=workspace_id,
        campaign_id=campaign_id,
    )
    answer = llm.structured(request, SummaryAnswer).value
    known = {p.url for p in pages[:MAX_PAGES]}
    sources = tuple(url for url in answer.sources if url in known) or (pages[0].url,)
    facts = [Fact("summary", answer.summary.strip(), sources[0], f"LLM summary of {len(sources)} page(s)")]
    if answer.industry.strip():
        facts.append(Fact("industry", answer.industry.strip(), sources[0], "LLM summary"))
    return CompanySummary(
        summary=answer.summary.strip(),
        industry=answer.industry.strip(),
        location=answer.location.strip(),
        sells=tuple(s.strip() for s in answer.sells if s.strip()),
        size_cues=tuple(s.strip() for s in answer.size_cues if s.strip()),
        sources=sources,
        mode="llm",
        facts=tuple(facts),
    )
