"""Outreach: templates, drafts, approval, send, messages with their status history, the suppression list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.deps import READ, SEND, WRITE
from api.v1.inputs import Input, JsonId
from core.apikeys.service import ApiPrincipal
from core.errors import NotFound
from core.outreach import message_log, suppression
from core.outreach import service as outreach
from core.outreach.models import MessageView

router = APIRouter()
Id = JsonId
Channel = Literal["email", "sms"]


class TemplateIn(Input):
    name: str = Field(min_length=1, max_length=120, pattern=r"\S", description="Not blank")
    channel: Channel
    subject: str = Field(default="", max_length=300)
    body: str = Field(max_length=20_000, pattern=r"\S", description="Not blank")


class TemplateOut(BaseModel):
    id: int
    name: str
    channel: str
    subject: str
    body: str


@router.get("/templates", response_model=list[TemplateOut], tags=["templates"])
def list_templates(who: ApiPrincipal = READ) -> list[TemplateOut]:
    return [TemplateOut(**t.__dict__) for t in outreach.list_templates(actor=who.actor)]


@router.post("/templates", status_code=201, response_model=TemplateOut, tags=["templates"])
def create_template(body: TemplateIn, who: ApiPrincipal = WRITE) -> TemplateOut:
    template_id = outreach.save_template(
        actor=who.actor, name=body.name, channel=body.channel, subject=body.subject, body=body.body
    )
    [saved] = [t for t in outreach.list_templates(actor=who.actor) if t.id == template_id]
    return TemplateOut(**saved.__dict__)


class DraftsIn(Input):
    template_id: Id
    lead_ids: list[Id] = Field(min_length=1, max_length=1000)


class DraftsOut(BaseModel):
    created: list[int]
    skipped: list[dict[str, int | str]]


@router.post("/drafts", status_code=201, response_model=DraftsOut, tags=["messages"], summary="Draft from a template")
def create_drafts(body: DraftsIn, who: ApiPrincipal = WRITE) -> DraftsOut:
    done = outreach.create_drafts(actor=who.actor, template_id=body.template_id, lead_ids=list(body.lead_ids))
    return DraftsOut(created=list(done.created), skipped=[{"lead_id": i, "reason": r} for i, r in done.skipped])


class MessageIds(Input):
    message_ids: list[Id] = Field(min_length=1, max_length=1000)


class ApproveOut(BaseModel):
    approved: int
    refused: list[dict[str, int | str]]


@router.post("/messages/approve", response_model=ApproveOut, tags=["messages"], summary="Approve drafts")
def approve_messages(body: MessageIds, who: ApiPrincipal = WRITE) -> ApproveOut:
    approved, refused = outreach.approve(actor=who.actor, message_ids=list(body.message_ids))
    return ApproveOut(approved=approved, refused=[{"message_id": i, "reason": r} for i, r in refused])


class SendOut(BaseModel):
    job_id: int | None


@router.post(
    "/messages/send",
    status_code=202,
    response_model=SendOut,
    tags=["messages"],
    summary="Queue approved messages and start sending",
)
def send_messages(body: MessageIds, who: ApiPrincipal = SEND) -> SendOut:
    return SendOut(job_id=outreach.send_now(actor=who.actor, message_ids=list(body.message_ids)))


class MessageOut(BaseModel):
    id: int
    lead_id: int
    lead_name: str
    contact: str
    channel: str
    step: int
    status: str
    subject: str
    body: str
    error: str
    flags: list[str]
    attempts: int
    created_at: datetime
    sent_at: datetime | None


class EventOut(BaseModel):
    status: str
    detail: str
    created_at: datetime


class MessageDetail(MessageOut):
    history: list[EventOut]


def _message(m: MessageView) -> MessageOut:
    return MessageOut(
        id=m.id,
        lead_id=m.lead_id,
        lead_name=m.lead_name,
        contact=m.contact,
        channel=m.channel,
        step=m.step,
        status=m.status,
        subject=m.subject,
        body=m.body,
        error=m.error,
        flags=list(m.flags),
        attempts=m.attempts,
        created_at=m.created_at,
        sent_at=m.sent_at,
    )


@router.get("/messages", response_model=list[MessageOut], tags=["messages"])
def list_messages(
    who: ApiPrincipal = READ,
    status: Annotated[str | None, Query(max_length=32)] = None,
    channel: Channel | None = None,
    lead_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[MessageOut]:
    rows = message_log.list_messages(actor=who.actor, status=status, channel=channel, lead_id=lead_id, limit=limit)
    return [_message(m) for m in rows]


@router.get(
    "/messages/{message_id:int}",
    response_model=MessageDetail,
    tags=["messages"],
    summary="A message with its status history",
)
def get_message(message_id: Id, who: ApiPrincipal = READ) -> MessageDetail:
    m = message_log.get_message_or_raise(actor=who.actor, message_id=message_id)
    history = message_log.message_history(actor=who.actor, message_id=message_id)
    return MessageDetail(**_message(m).model_dump(), history=[EventOut(**e.__dict__) for e in history])


class SuppressionIn(Input):
    channel: Channel
    address: str = Field(min_length=3, max_length=320)


class SuppressionOut(BaseModel):
    channel: str
    address: str
    reason: str
    source: str
    created_at: datetime


@router.get("/suppressions", response_model=list[SuppressionOut], tags=["suppressions"])
def list_suppressions(
    who: ApiPrincipal = READ,
    channel: Channel | None = None,
    search: Annotated[str, Query(max_length=320)] = "",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[SuppressionOut]:
    rows = suppression.list_suppressions(actor=who.actor, channel=channel, search=search, limit=limit)
    return [SuppressionOut(**r.__dict__) for r in rows]


@router.post(
    "/suppressions",
    status_code=201,
    response_model=SuppressionOut,
    tags=["suppressions"],
    summary="Suppress an address (no message will go to it)",
)
def add_suppression(body: SuppressionIn, who: ApiPrincipal = WRITE) -> SuppressionOut:
    suppression.add_suppression(actor=who.actor, channel=body.channel, address=body.address, source="api")
    address = suppression.normalise_address(body.channel, body.address)
    [row] = [
        r
        for r in suppression.list_suppressions(actor=who.actor, channel=body.channel, search=address)
        if r.address == address
    ]
    return SuppressionOut(**row.__dict__)


@router.delete(
    "/suppressions/{channel}/{address:path}",
    status_code=204,
    tags=["suppressions"],
    summary="Lift a suppression (the key's creator must be an admin)",
)
def remove_suppression(
    channel: Channel, address: Annotated[str, Field(max_length=320)], who: ApiPrincipal = WRITE
) -> Response:
    if not suppression.remove_suppression(actor=who.actor, channel=channel, address=address):
        raise NotFound(f"{address} is not on the {channel} suppression list.")
    return Response(status_code=204)
