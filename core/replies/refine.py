"""The LLM's reading of a person's answer, after the rules: interested, not now, not interested, an
unsubscribe request in words the rules do not know, or a reply to read.

Rules classify every mail as it is stored (fast, offline, and the only reading when no LLM is
configured). When one is, a periodic job asks it about the answers the rules called a person's —
never about bounces and auto-replies, never about a class a user set, and never twice. Its class
replaces the rules' one with the LLM's reason; an unsubscribe request found this way suppresses the
address like one found by the rules. The rules' unsubscribe verdicts are not second-guessed: a
suppression is not taken back by a model.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, exists, select, update

from core.audit import audit
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Lead, Reply, utcnow
from core.errors import LLMError, QuotaExceeded
from core.llm import LLM, LLMRequest, load_prompt
from core.llm.configured import CONFIGURED, resolve_llm
from core.replies.models import HUMAN_LABELS, LABEL_TITLES, Verdict
from core.replies.service import apply_effects

log = logging.getLogger(__name__)

RECENT = timedelta(days=14)  # older answers were dealt with by the team before an LLM was set up
BATCH = 50  # answers per pass; the next pass (a minute later) takes the rest
MAX_CHARS = 4000
_ANSWER_SPECIFIC = ("unparseable", "refused")  # failures about one answer; the others are the service's


class ReplyAnswer(BaseModel):
    """The LLM's structured reading of one answer."""

    label: Literal["interested", "not_now", "not_interested", "unsubscribe", "other"]
    reason: str = Field(max_length=300)


def _waiting(since: datetime) -> tuple[ColumnElement[bool], ...]:
    """Answers classified by rules since ``since`` that the LLM has not read."""
    return (
        Reply.workspace_id.is_not(None),
        Reply.label.in_(HUMAN_LABELS),
        Reply.label_source == "rules",
        Reply.llm_checked_at.is_(None),
        Reply.received_at >= since,
    )


def any_to_refine() -> bool:
    """Whether the periodic pass has work: an LLM is configured and a recent answer waits for it."""
    if not get_settings().openai_enabled:
        return False
    with UnitOfWork() as uow:
        return bool(uow.session.scalar(select(exists().where(*_waiting(utcnow() - RECENT)))))


def ask(llm: LLM, *, subject: str, text: str, workspace_id: int | None, campaign_id: int | None) -> ReplyAnswer:
    """The LLM's class for one answer (its text is data inside delimiters, never instructions)."""
    request = LLMRequest(
        purpose="reply_class",
        prompt=load_prompt("reply", 1),
        data={"subject": subject[:300], "reply": text[:MAX_CHARS]},
        workspace_id=workspace_id,
        campaign_id=campaign_id,
    )
    return llm.structured(request, ReplyAnswer).value


def _mark_checked(reply_id: int) -> None:
    with UnitOfWork() as uow:
        uow.session.execute(update(Reply).where(Reply.id == reply_id).values(llm_checked_at=utcnow()))
        uow.commit()


def _apply(reply_id: int, rules_label: str, answer: ReplyAnswer) -> bool:
    """Store the LLM's class unless the reply changed meanwhile (a user set one); True when the class changed."""
    with UnitOfWork() as uow:
        reply = uow.session.get(Reply, reply_id, with_for_update=True)
        if reply is None or reply.label_source != "rules" or reply.label != rules_label:
            return False  # removed, or a user (or another pass) decided first
        reason = f"LLM: {answer.reason.strip()}"
        reply.llm_checked_at = utcnow()
        reply.label_source = "llm"
        reply.label_reason = (
            reason if answer.label == rules_label else f"{reason} (rules said {LABEL_TITLES[rules_label].lower()})"
        )[:300]
        changed = answer.label != rules_label
        if changed:
            reply.label = answer.label
            if answer.label == "unsubscribe":  # the other classes' effect (the lead replied) is applied already
                apply_effects(uow.session, reply, Verdict(label="unsubscribe", reason=reply.label_reason, source="llm"))
            audit(
                uow,
                "reply.relabelled",
                workspace_id=reply.workspace_id,
                target_type="reply",
                target_id=reply.id,
                detail={"from": rules_label, "to": answer.label, "by": "llm"},
            )
        uow.commit()
        return changed


def refine_replies(*, llm: LLM | None = CONFIGURED, limit: int = BATCH) -> dict[str, int | str]:
    """Ask the LLM about up to ``limit`` recent answers the rules classified; what it did, counted.

    An unusable answer to one reply (unreadable, refused) or a spent campaign budget marks that reply
    read and keeps the rules' class; a failing service (down, rate-limited, wrong key) ends the pass
    and the next one tries again.
    """
    llm = resolve_llm(llm)
    if llm is None:
        return {"skipped": "no LLM configured (OPENAI_API_KEY)"}
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(
                Reply.id, Reply.workspace_id, Reply.subject, Reply.body, Reply.full_body, Reply.label, Lead.campaign_id
            )
            .outerjoin(Lead, Lead.id == Reply.lead_id)
            .where(*_waiting(utcnow() - RECENT))
            .order_by(Reply.id)
            .limit(limit)
        ).all()
    counts: dict[str, int | str] = {"read": 0, "changed": 0, "kept": 0}
    for reply_id, workspace_id, subject, body, full_body, label, campaign_id in rows:
        try:
            answer = ask(
                llm, subject=subject, text=body or full_body, workspace_id=workspace_id, campaign_id=campaign_id
            )
        except QuotaExceeded as exc:
            log.warning("reply %s keeps its rules class: %s", reply_id, exc)
            _mark_checked(reply_id)
            counts["kept"] = int(counts["kept"]) + 1
            continue
        except LLMError as exc:
            if exc.kind not in _ANSWER_SPECIFIC:
                log.warning("reading replies with the LLM stopped for now: %s", exc)
                counts["stopped"] = str(exc)[:300]
                break
            log.warning("reply %s keeps its rules class: %s", reply_id, exc)
            _mark_checked(reply_id)
            counts["kept"] = int(counts["kept"]) + 1
            continue
        counts["read"] = int(counts["read"]) + 1
        if _apply(reply_id, label, answer):
            counts["changed"] = int(counts["changed"]) + 1
    return counts
