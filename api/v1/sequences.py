"""Sequences: what the Sequences page shows and does — steps, pause/resume, enrolment with who is skipped
and why (enrolling starts sending, so it needs the ``send`` scope), contacts, and the per-step funnel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.deps import READ, SEND, WRITE
from api.v1.inputs import INTEGRAL, Input, JsonId
from core.apikeys.service import ApiPrincipal
from core.sequences import enrolment, funnel
from core.sequences import service as sequences
from core.sequences.models import (
    DEFAULT_STOP_STATUSES,
    MAX_DELAY_DAYS,
    MAX_STEPS,
    STOP_CHOICES,
    EnrollmentView,
    SequenceView,
    StepInput,
)

router = APIRouter(tags=["sequences"])
StopStatus = Literal[STOP_CHOICES]  # type: ignore[valid-type]
State = Literal["active", "paused"]


class StepIn(Input):
    channel: Literal["email", "sms"]
    template_id: JsonId | None = Field(default=None, description="The step's template (or use_ai)")
    use_ai: bool = Field(default=False, description="An AI draft grounded in the lead's evidence")
    delay_days: Annotated[int, Field(ge=0, le=MAX_DELAY_DAYS), INTEGRAL] = Field(
        default=0, description="Working days after the previous step"
    )
    subject: str = Field(default="", max_length=300, description="Email: own subject instead of 'Re: <first>'")


class SequenceIn(Input):
    name: str = Field(min_length=1, max_length=200, pattern=r"\S", description="Not blank")
    steps: list[StepIn] = Field(min_length=1, max_length=MAX_STEPS)
    stop_statuses: list[StopStatus] = Field(default=list(DEFAULT_STOP_STATUSES), max_length=len(STOP_CHOICES))
    campaign_id: JsonId | None = None


class StepOut(BaseModel):
    position: int
    channel: str
    template_id: int | None
    template_name: str
    use_ai: bool
    delay_days: int
    subject: str


class SequenceOut(BaseModel):
    id: int
    name: str
    status: str
    campaign_id: int | None
    stop_statuses: list[str]
    steps: list[StepOut]
    counts: dict[str, int] = Field(description="Contacts by state: active, paused, finished, left")


def _sequence(view: SequenceView) -> SequenceOut:
    return SequenceOut(
        id=view.id,
        name=view.name,
        status=view.status,
        campaign_id=view.campaign_id,
        stop_statuses=list(view.stop_statuses),
        steps=[StepOut(**step.__dict__) for step in view.steps],
        counts=dict(view.counts),
    )


def _steps(body: SequenceIn) -> list[StepInput]:
    return [StepInput(**step.model_dump()) for step in body.steps]


@router.get("/sequences", response_model=list[SequenceOut], summary="Sequences with their steps")
def list_sequences(who: ApiPrincipal = READ) -> list[SequenceOut]:
    return [_sequence(s) for s in sequences.list_sequences(actor=who.actor)]


@router.post("/sequences", status_code=201, response_model=SequenceOut, summary="Create a sequence")
def create_sequence(body: SequenceIn, who: ApiPrincipal = WRITE) -> SequenceOut:
    sequence_id = sequences.save_sequence(
        actor=who.actor,
        name=body.name,
        steps=_steps(body),
        stop_statuses=tuple(body.stop_statuses),
        campaign_id=body.campaign_id,
    )
    return _sequence(sequences.get_sequence_or_raise(actor=who.actor, sequence_id=sequence_id))


@router.get("/sequences/{sequence_id:int}", response_model=SequenceOut, summary="A sequence")
def get_sequence(sequence_id: JsonId, who: ApiPrincipal = READ) -> SequenceOut:
    return _sequence(sequences.get_sequence_or_raise(actor=who.actor, sequence_id=sequence_id))


@router.put(
    "/sequences/{sequence_id:int}",
    response_model=SequenceOut,
    summary="Replace name, steps and stop statuses (enrolled contacts keep their place)",
)
def replace_sequence(sequence_id: JsonId, body: SequenceIn, who: ApiPrincipal = WRITE) -> SequenceOut:
    sequences.save_sequence(
        actor=who.actor,
        name=body.name,
        steps=_steps(body),
        stop_statuses=tuple(body.stop_statuses),
        campaign_id=body.campaign_id,
        sequence_id=sequence_id,
    )
    return _sequence(sequences.get_sequence_or_raise(actor=who.actor, sequence_id=sequence_id))


class StateIn(Input):
    status: State


@router.post("/sequences/{sequence_id:int}/status", response_model=SequenceOut, summary="Pause or resume")
def set_sequence_status(sequence_id: JsonId, body: StateIn, who: ApiPrincipal = WRITE) -> SequenceOut:
    sequences.set_sequence_status(actor=who.actor, sequence_id=sequence_id, status=body.status)
    return _sequence(sequences.get_sequence_or_raise(actor=who.actor, sequence_id=sequence_id))


class EnrolIn(Input):
    lead_ids: list[JsonId] = Field(min_length=1, max_length=1000)
    dry_run: bool = Field(default=False, description="Only say who would be enrolled and who skipped, and why")


class EnrolOut(BaseModel):
    enrolled: list[int]
    skipped: list[dict[str, int | str]]


@router.post(
    "/sequences/{sequence_id:int}/enrollments",
    response_model=EnrolOut,
    summary="Enrol leads (the skipped ones with why)",
)
def enrol_leads(sequence_id: JsonId, body: EnrolIn, who: ApiPrincipal = SEND) -> EnrolOut:
    done = enrolment.enrol(actor=who.actor, sequence_id=sequence_id, lead_ids=list(body.lead_ids), dry_run=body.dry_run)
    return EnrolOut(enrolled=list(done.enrolled), skipped=[{"lead_id": i, "reason": r} for i, r in done.skipped])


class EnrollmentOut(BaseModel):
    id: int
    lead_id: int
    lead_name: str
    status: str
    reason: str = Field(description="Why the contact left: replied, bounced, unsubscribed, a status, manual")
    detail: str
    next_position: int | None
    next_due_at: datetime | None
    enrolled_at: datetime


def _enrollment(view: EnrollmentView) -> EnrollmentOut:
    return EnrollmentOut(**view.__dict__)


@router.get(
    "/sequences/{sequence_id:int}/enrollments",
    response_model=list[EnrollmentOut],
    summary="The sequence's contacts, newest first",
)
def list_enrollments(
    sequence_id: JsonId,
    who: ApiPrincipal = READ,
    status: Literal["active", "paused", "finished", "left"] | None = Query(default=None),
) -> list[EnrollmentOut]:
    rows = enrolment.list_enrollments(actor=who.actor, sequence_id=sequence_id, status=status)
    return [_enrollment(e) for e in rows]


@router.post("/enrollments/{enrollment_id:int}/status", status_code=204, summary="Pause or resume one contact")
def set_enrollment_status(enrollment_id: JsonId, body: StateIn, who: ApiPrincipal = WRITE) -> Response:
    enrolment.set_enrollment_status(actor=who.actor, enrollment_id=enrollment_id, status=body.status)
    return Response(status_code=204)


@router.delete(
    "/enrollments/{enrollment_id:int}", status_code=204, summary="Take one contact out (its unsent step is cancelled)"
)
def remove_enrollment(enrollment_id: JsonId, who: ApiPrincipal = WRITE) -> Response:
    enrolment.remove_from_sequence(actor=who.actor, enrollment_id=enrollment_id)
    return Response(status_code=204)


class FunnelOut(BaseModel):
    position: int
    channel: str
    sent: int
    replied: int
    bounced: int
    unsubscribed: int


@router.get(
    "/sequences/{sequence_id:int}/funnel", response_model=list[FunnelOut], summary="Per step: sent, replied, ..."
)
def sequence_funnel(sequence_id: JsonId, who: ApiPrincipal = READ) -> list[FunnelOut]:
    return [FunnelOut(**row.__dict__) for row in funnel.funnel(actor=who.actor, sequence_id=sequence_id)]
