"""Replies: what the Inbox shows and does — the answers to outreach with their class (changeable), the
one-click actions, and an answer written back in the person's thread (``send`` scope)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import READ, SEND, WRITE
from api.v1.inputs import Input, JsonId
from core.apikeys.service import ApiPrincipal
from core.replies import answer, inbox
from core.replies.models import REPLY_LABELS, ReplyView

router = APIRouter(prefix="/replies", tags=["replies"])
Label = Literal[REPLY_LABELS]  # type: ignore[valid-type]
Action = Literal["meeting", "not_interested", "do_not_contact", "handled"]


class ReplyOut(BaseModel):
    id: int
    lead_id: int | None
    lead_name: str
    message_id: int | None = Field(description="Our message this answers, when matched")
    channel: str
    source: str = Field(description="imap, sendgrid, mailgun, twilio or file")
    from_address: str
    from_name: str
    subject: str
    body: str = Field(description="The new text, quoted history and signature removed")
    label: str
    label_source: str = Field(description="rules, llm or user")
    label_reason: str
    bounce_recipient: str
    bounce_status: str
    matched_by: str
    received_at: datetime
    handled_at: datetime | None
    answer_message_id: int | None = Field(description="Our answer written from the Inbox or the API")
    answer_status: str


def _reply(view: ReplyView) -> ReplyOut:
    fields = {name: getattr(view, name) for name in ReplyOut.model_fields}
    return ReplyOut(**fields)


@router.get("", response_model=list[ReplyOut], summary="Replies, newest first")
def list_replies(
    who: ApiPrincipal = READ,
    label: Annotated[list[Label] | None, Query(max_length=len(REPLY_LABELS))] = None,
    lead_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ReplyOut]:
    rows = inbox.list_replies(
        actor=who.actor, labels=tuple(label or ()), lead_id=lead_id, open_only=open_only, limit=limit
    )
    return [_reply(r) for r in rows]


@router.get("/{reply_id:int}", response_model=ReplyOut, summary="A reply with its class and why")
def get_reply(reply_id: JsonId, who: ApiPrincipal = READ) -> ReplyOut:
    return _reply(inbox.get_reply_or_raise(actor=who.actor, reply_id=reply_id))


class LabelIn(Input):
    label: Label


@router.patch("/{reply_id:int}", response_model=ReplyOut, summary="Correct a reply's class (its effects apply)")
def relabel_reply(reply_id: JsonId, body: LabelIn, who: ApiPrincipal = WRITE) -> ReplyOut:
    return _reply(inbox.set_reply_label(actor=who.actor, reply_id=reply_id, label=body.label))


class ActionIn(Input):
    action: Action = Field(description="meeting, not_interested (lead lost), do_not_contact, handled")


@router.post("/{reply_id:int}/actions", response_model=ReplyOut, summary="Act on a reply and mark it handled")
def act_on_reply(reply_id: JsonId, body: ActionIn, who: ApiPrincipal = WRITE) -> ReplyOut:
    return _reply(inbox.act_on_reply(actor=who.actor, reply_id=reply_id, action=body.action))


class AnswerIn(Input):
    body: str = Field(min_length=1, max_length=answer.MAX_EMAIL_BODY, pattern=r"\S", description="Not blank")


class AnswerOut(BaseModel):
    message_id: int
    job_id: int | None
    status: str = Field(description="The answer's status right after queueing (queued, or failed with the error)")
    error: str


@router.post(
    "/{reply_id:int}/answer",
    status_code=202,
    response_model=AnswerOut,
    summary="Answer in the person's thread (once per reply)",
)
def answer_reply(reply_id: JsonId, body: AnswerIn, who: ApiPrincipal = SEND) -> AnswerOut:
    done = answer.answer_reply(actor=who.actor, reply_id=reply_id, body=body.body)
    return AnswerOut(message_id=done.message_id, job_id=done.job_id, status=done.status, error=done.error)
