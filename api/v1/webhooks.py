"""Webhooks out: a workspace's endpoints (the secret is returned once, at creation), their deliveries
with every attempt's response code, and redelivery by hand. Reading needs the ``read`` scope, changing and redelivering ``write``; the key's
creator must be an owner or admin (``webhook.manage``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.deps import READ, WRITE
from core.apikeys.service import ApiPrincipal
from core.webhooks import service as webhooks
from core.webhooks.models import DeliveryView, EndpointView

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Event = Literal[
    "lead.created", "lead.qualified", "run.finished", "message.sent", "message.replied", "contact.unsubscribed"
]


class EndpointIn(BaseModel):
    url: str = Field(min_length=1, max_length=2048, description="http(s) URL; the crawler's SSRF rules apply")
    events: list[Event] = Field(min_length=1, max_length=6)
    description: str = Field(default="", max_length=200)


class EndpointChange(BaseModel):
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    events: list[Event] | None = Field(default=None, min_length=1, max_length=6)
    description: str | None = Field(default=None, max_length=200)


class EndpointOut(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str
    status: Literal["active", "failing"]
    failing_since: datetime | None
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="whsec_… — shown only in this response; verify signatures with it")


class AttemptOut(BaseModel):
    status_code: int | None
    error: str
    duration_ms: int
    manual: bool
    created_at: datetime


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: int
    event: str
    message_id: str = Field(description="The webhook-id header (the same on every attempt)")
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryDetail(DeliveryOut):
    body: str
    log: list[AttemptOut]


def _endpoint(view: EndpointView) -> EndpointOut:
    return EndpointOut(
        id=view.id,
        url=view.url,
        events=list(view.events),
        description=view.description,
        status=view.status,  # type: ignore[arg-type]
        failing_since=view.failing_since,
        created_at=view.created_at,
    )


def _delivery(view: DeliveryView) -> DeliveryOut:
    return DeliveryOut(
        id=view.id,
        endpoint_id=view.endpoint_id,
        event=view.event,
        message_id=view.message_id,
        status=view.status,  # type: ignore[arg-type]
        attempts=view.attempts,
        last_status_code=view.last_status_code,
        last_error=view.last_error,
        next_attempt_at=view.next_attempt_at,
        delivered_at=view.delivered_at,
        created_at=view.created_at,
    )


@router.get("/endpoints", response_model=list[EndpointOut], summary="List webhook endpoints")
def list_webhook_endpoints(who: ApiPrincipal = READ) -> list[EndpointOut]:
    return [_endpoint(e) for e in webhooks.list_endpoints(actor=who.actor)]


@router.post(
    "/endpoints",
    status_code=201,
    response_model=EndpointCreated,
    summary="Register a webhook endpoint (its signing secret is returned once)",
)
def create_webhook_endpoint(body: EndpointIn, who: ApiPrincipal = WRITE) -> EndpointCreated:
    created = webhooks.create_endpoint(actor=who.actor, url=body.url, events=body.events, description=body.description)
    view = webhooks.get_endpoint_or_raise(actor=who.actor, endpoint_id=created.id)
    return EndpointCreated(**_endpoint(view).model_dump(), secret=created.secret)


@router.get("/endpoints/{endpoint_id:int}", response_model=EndpointOut, summary="A webhook endpoint")
def get_webhook_endpoint(endpoint_id: Id, who: ApiPrincipal = READ) -> EndpointOut:
    return _endpoint(webhooks.get_endpoint_or_raise(actor=who.actor, endpoint_id=endpoint_id))


@router.patch("/endpoints/{endpoint_id:int}", response_model=EndpointOut, summary="Change URL, events or description")
def update_webhook_endpoint(endpoint_id: Id, change: EndpointChange, who: ApiPrincipal = WRITE) -> EndpointOut:
    view = webhooks.update_endpoint(
        actor=who.actor, endpoint_id=endpoint_id, url=change.url, events=change.events, description=change.description
    )
    return _endpoint(view)


@router.delete("/endpoints/{endpoint_id:int}", status_code=204, summary="Delete an endpoint and its delivery log")
def delete_webhook_endpoint(endpoint_id: Id, who: ApiPrincipal = WRITE) -> Response:
    webhooks.delete_endpoint(actor=who.actor, endpoint_id=endpoint_id)
    return Response(status_code=204)


@router.get("/deliveries", response_model=list[DeliveryOut], summary="Deliveries, newest first")
def list_webhook_deliveries(
    who: ApiPrincipal = READ,
    endpoint_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    rows = webhooks.list_deliveries(actor=who.actor, endpoint_id=endpoint_id, limit=limit)
    return [_delivery(d) for d in rows]


@router.get(
    "/deliveries/{delivery_id:int}",
    response_model=DeliveryDetail,
    summary="A delivery with its body and every attempt's response code",
)
def get_webhook_delivery(delivery_id: Id, who: ApiPrincipal = READ) -> DeliveryDetail:
    view = webhooks.get_delivery_or_raise(actor=who.actor, delivery_id=delivery_id)
    log = [AttemptOut(**a.__dict__) for a in view.log]
    return DeliveryDetail(**_delivery(view).model_dump(), body=view.body, log=log)


@router.post(
    "/deliveries/{delivery_id:int}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a delivery again now (same webhook-id; one attempt)",
)
def redeliver_webhook(delivery_id: Id, who: ApiPrincipal = WRITE) -> DeliveryOut:
    return _delivery(webhooks.redeliver(actor=who.actor, delivery_id=delivery_id))
