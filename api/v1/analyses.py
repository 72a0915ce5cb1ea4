"""One-off website analysis: a URL in, a job, then the site's profile with the evidence of every value."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import READ, WRITE
from api.v1.inputs import Input, JsonId
from core.apikeys.service import ApiPrincipal
from core.runs import analyses
from core.runs.analyses import AnalysisView

router = APIRouter(tags=["analyses"])


class AnalysisIn(Input):
    url: str = Field(
        min_length=1,
        max_length=analyses.MAX_URL_CHARS,
        description="The website (https://example.com, or example.com). Private and loopback addresses are refused.",
    )


class EvidenceOut(BaseModel):
    field: str
    value: str
    url: str = Field(description="The page the value was read from")
    snippet: str


class ProfileOut(BaseModel):
    """The site's profile: every value comes with evidence (the page and the text it was read from)."""

    url: str
    name: str
    description: str
    language: str
    emails: list[str]
    phones: list[str]
    socials: dict[str, str]
    address: str
    country: str
    city: str
    tech: list[str]
    technologies: list[dict[str, Any]]
    people: list[dict[str, Any]]
    contact_form: bool
    posts: list[dict[str, Any]]
    evidence: list[EvidenceOut]


class PageOut(BaseModel):
    url: str
    kind: str
    status: int | None


class AnalysisOut(BaseModel):
    id: int = Field(description="The analysis id (the id of its job)")
    url: str
    status: str = Field(description="queued, running, retrying, then succeeded, failed or cancelled")
    progress_done: int
    progress_total: int | None
    message: str
    error: str
    created_at: datetime
    finished_at: datetime | None
    final_url: str = Field(description="Where the home page was in the end (after redirects)")
    pages: list[PageOut]
    profile: ProfileOut | None = Field(description="Once the analysis has succeeded")


def _out(view: AnalysisView) -> AnalysisOut:
    return AnalysisOut(
        id=view.id,
        url=view.url,
        status=view.status,
        progress_done=view.progress_done,
        progress_total=view.progress_total,
        message=view.message,
        error=view.error,
        created_at=view.created_at,
        finished_at=view.finished_at,
        final_url=view.final_url,
        pages=[PageOut(**p) for p in view.pages],
        profile=ProfileOut(**view.profile) if view.profile else None,
    )


@router.post(
    "/analyses",
    status_code=202,
    response_model=AnalysisOut,
    summary="Analyse one website (crawl and extract, as a job); nothing is stored as a lead",
)
def start_analysis(body: AnalysisIn, who: ApiPrincipal = WRITE) -> AnalysisOut:
    analysis_id = analyses.start_analysis(actor=who.actor, url=body.url)
    return _out(analyses.get_analysis_or_raise(actor=who.actor, analysis_id=analysis_id))


@router.get(
    "/analyses/{analysis_id:int}",
    response_model=AnalysisOut,
    summary="An analysis's progress, then the site's profile with evidence",
)
def get_analysis(analysis_id: JsonId, who: ApiPrincipal = READ) -> AnalysisOut:
    return _out(analyses.get_analysis_or_raise(actor=who.actor, analysis_id=analysis_id))


@router.post("/analyses/{analysis_id:int}/cancel", response_model=AnalysisOut, summary="Cancel an analysis")
def cancel_analysis(analysis_id: JsonId, who: ApiPrincipal = WRITE) -> AnalysisOut:
    return _out(analyses.cancel_analysis(actor=who.actor, analysis_id=analysis_id))
