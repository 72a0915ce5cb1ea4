"""Leads: the table's filters and sorting with cursor pagination, detail, edits, bulk actions, delete."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from api.deps import READ, WRITE
from api.v1.inputs import Input, JsonId
from core.apikeys.service import ApiPrincipal
from core.errors import InvalidInput
from core.leads import query as lead_query
from core.leads import service as leads
from core.leads.insights import get_insights
from core.leads.models import LEAD_STATUSES

router = APIRouter(tags=["leads"])
SortField = Literal["score", "name", "domain", "status", "industry", "location", "created_at", "updated_at"]
Status = Literal[LEAD_STATUSES]  # type: ignore[valid-type]


class LeadOut(BaseModel):
    id: int
    name: str
    domain: str
    website: str
    industry: str
    location: str
    country: str
    score: float | None
    status: str
    owner: str
    tags: list[str]
    tech: list[str]
    source: str
    email: str
    phone: str
    created_at: datetime


class LeadList(BaseModel):
    data: list[LeadOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class EvidenceOut(BaseModel):
    id: int
    field: str
    value: str
    source_url: str
    snippet: str


class ContactOut(BaseModel):
    id: int
    kind: str
    value: str
    label: str
    person_name: str
    person_title: str
    is_role_address: bool
    verification: str


class LeadDetailOut(BaseModel):
    id: int
    domain: str
    name: str
    website: str
    summary: str
    industry: str
    location: str
    country: str
    tech: list[str]
    score: float | None
    score_factors: list[dict[str, Any]]
    status: str
    owner_id: int | None
    owner: str
    tags: list[str]
    notes: str
    source: str
    campaign_id: int | None
    created_at: datetime
    updated_at: datetime | None
    evidence: list[EvidenceOut]
    contacts: list[ContactOut]


class LeadUpdate(Input):
    """Fields to change; those left out keep their value."""

    status: Status | None = None  # type: ignore[valid-type]
    owner_id: JsonId | None = None
    clear_owner: bool = False
    tags: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=50)
    notes: str | None = Field(default=None, max_length=20_000)


LeadIds = Annotated[list[JsonId], Field(min_length=1, max_length=5000)]


class BulkSetStatus(Input):
    """Set the status of the leads."""

    action: Literal["set_status"]
    lead_ids: LeadIds
    status: Status  # type: ignore[valid-type]


class BulkAssign(Input):
    """Assign the leads to a member (``owner_id``), or unassign them (``owner_id`` null or left out)."""

    action: Literal["assign"]
    lead_ids: LeadIds
    owner_id: JsonId | None = None


class BulkDelete(Input):
    """Delete the leads (their domains are tombstoned)."""

    action: Literal["delete"]
    lead_ids: LeadIds


# One shape per action, so the document says which fields each needs (`status` for set_status).
BulkAction = Annotated[BulkSetStatus | BulkAssign | BulkDelete, Field(discriminator="action")]


class BulkResult(BaseModel):
    action: str
    affected: int


def _encode_cursor(sort: str, descending: bool, key: tuple[Any, int]) -> str:
    value, last_id = key
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps({"s": sort, "d": descending, "v": value, "i": last_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str, descending: bool) -> tuple[Any, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, last_id = data["v"], int(data["i"])
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        same = data["s"] == sort and bool(data["d"]) == descending
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise InvalidInput("This cursor is not valid; start again without one.") from error
    if not same:
        raise InvalidInput("This cursor belongs to another sort order; keep `sort` and `order` while paging.")
    if value is not None and not isinstance(value, (int, float, str, datetime)) or isinstance(value, bool):
        raise InvalidInput("This cursor is not valid; start again without one.")
    return value, last_id


def lead_filter(
    status: Annotated[list[Status] | None, Query()] = None,  # type: ignore[valid-type]
    score_min: Annotated[float | None, Query(ge=0, le=100)] = None,
    score_max: Annotated[float | None, Query(ge=0, le=100)] = None,
    industry: Annotated[str, Query(max_length=200)] = "",
    location: Annotated[str, Query(max_length=200)] = "",
    has_email: bool | None = None,
    has_phone: bool | None = None,
    technology: Annotated[str, Query(max_length=200)] = "",
    tag: Annotated[list[Annotated[str, Field(max_length=64)]] | None, Query(max_length=20)] = None,
    owner_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    campaign_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    q: Annotated[str, Query(max_length=200, description="Text in name, domain, summary or notes")] = "",
) -> lead_query.LeadFilter:
    """The lead table's filters, as ``GET /leads`` takes them."""
    return lead_query.LeadFilter(
        statuses=tuple(status or ()),
        score_min=score_min,
        score_max=score_max,
        industry=industry,
        location=location,
        has_email=has_email,
        has_phone=has_phone,
        technology=technology,
        tags=tuple(tag or ()),
        owner_id=owner_id,
        campaign_id=campaign_id,
        text=q,
    )


@router.get("/leads", response_model=LeadList, summary="List leads (filters, sorting, cursor pagination)")
def list_leads(
    flt: Annotated[lead_query.LeadFilter, Depends(lead_filter)],
    who: ApiPrincipal = READ,
    sort: SortField = "score",
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=lead_query.MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> LeadList:
    descending = order == "desc"
    after = _decode_cursor(cursor, sort, descending) if cursor else None
    page = lead_query.list_leads_after(
        actor=who.actor, flt=flt, sort=sort, descending=descending, after=after, limit=limit
    )
    return LeadList(
        data=[LeadOut(**{**r.__dict__, "tags": list(r.tags), "tech": list(r.tech)}) for r in page.rows],
        next_cursor=_encode_cursor(sort, descending, page.next_key) if page.next_key else None,
    )


def _detail(who: ApiPrincipal, lead_id: int) -> LeadDetailOut:
    d = leads.get_lead_detail_or_raise(actor=who.actor, lead_id=lead_id)
    return LeadDetailOut(
        id=d.id,
        domain=d.domain,
        name=d.name,
        website=d.website,
        summary=d.summary,
        industry=d.industry,
        location=d.location,
        country=d.country,
        tech=list(d.tech),
        score=d.score,
        score_factors=[dict(f) if isinstance(f, dict) else {"factor": str(f)} for f in d.score_factors],
        status=d.status,
        owner_id=d.owner_id,
        owner=d.owner,
        tags=list(d.tags),
        notes=d.notes,
        source=d.source,
        campaign_id=d.campaign_id,
        created_at=d.created_at,
        updated_at=d.updated_at,
        evidence=[EvidenceOut(**e.__dict__) for e in d.evidence],
        contacts=[ContactOut(**c.__dict__) for c in d.contacts],
    )


LeadId = Annotated[int, Field(ge=1, le=2**31 - 1)]  # the id columns are 32-bit on PostgreSQL


@router.get("/leads/{lead_id:int}", response_model=LeadDetailOut, summary="A lead with evidence and score factors")
def get_lead(lead_id: LeadId, who: ApiPrincipal = READ) -> LeadDetailOut:
    return _detail(who, lead_id)


@router.patch("/leads/{lead_id:int}", response_model=LeadDetailOut, summary="Update status, owner, tags or notes")
def update_lead(lead_id: LeadId, change: LeadUpdate, who: ApiPrincipal = WRITE) -> LeadDetailOut:
    current = leads.get_lead_detail_or_raise(actor=who.actor, lead_id=lead_id)
    owner = None if change.clear_owner else (change.owner_id if change.owner_id is not None else current.owner_id)
    leads.update_lead(
        actor=who.actor,
        lead_id=lead_id,
        status=change.status if change.status is not None else current.status,
        owner_id=owner,
        tags=list(change.tags) if change.tags is not None else list(current.tags),
        notes=change.notes if change.notes is not None else current.notes,
    )
    return _detail(who, lead_id)


@router.delete("/leads/{lead_id:int}", status_code=204, summary="Delete a lead (its domain is tombstoned)")
def delete_lead(lead_id: LeadId, who: ApiPrincipal = WRITE) -> Response:
    leads.get_lead_detail_or_raise(actor=who.actor, lead_id=lead_id)  # 404 for another workspace's lead
    leads.delete_leads(actor=who.actor, lead_ids=[lead_id])
    return Response(status_code=204)


@router.post("/leads/bulk", response_model=BulkResult, summary="Set status, assign or delete many leads")
def bulk(action: BulkAction, who: ApiPrincipal = WRITE) -> BulkResult:
    ids = list(action.lead_ids)
    if isinstance(action, BulkSetStatus):
        affected = leads.set_status(actor=who.actor, lead_ids=ids, status=action.status)
    elif isinstance(action, BulkAssign):
        affected = leads.assign(actor=who.actor, lead_ids=ids, owner_id=action.owner_id)
    else:
        affected = leads.delete_leads(actor=who.actor, lead_ids=ids)
    return BulkResult(action=action.action, affected=affected)


class InsightsOut(BaseModel):
    funnel: dict[str, int]
    unscored: int
    qualified: int
    industries: dict[str, int]
    llm_cost_usd: float
    search_calls: int
    search_cost_usd: float


@router.get("/insights", response_model=InsightsOut, tags=["insights"], summary="The Insights page's figures")
def insights(who: ApiPrincipal = READ) -> InsightsOut:
    i = get_insights(actor=who.actor)
    return InsightsOut(
        funnel=dict(i.funnel),
        unscored=i.unscored,
        qualified=i.qualified,
        industries=dict(i.industries),
        llm_cost_usd=i.llm_cost_usd,
        search_calls=i.search_calls,
        search_cost_usd=i.search_cost_usd,
    )
