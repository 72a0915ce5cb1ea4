"""LLM drafts grounded in evidence: one message per lead, every sentence citing the facts it uses.

A sentence that states a fact about the prospect without citing this lead's evidence, or that
cites evidence of another lead, is flagged; a flagged draft cannot be approved until the sentence
is edited away (``service.approve`` / ``service.edit_draft``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import background
from core.actor import Actor
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Campaign, Contact, Evidence, Lead, Message, StrategyVersion, Workspace
from core.errors import InvalidInput, LLMError, QuotaExceeded
from core.extract.people import normalise_role
from core.llm import LLM, LLMRequest, load_prompt
from core.outreach.compose import refuse_unsendable_contact
from core.outreach.context import pick_contact
from core.outreach.service import DraftOutcome
from core.outreach.suppression import is_suppressed
from core.strategy.models import Angle, parse_strategy

MAX_EVIDENCE = 40
DRAFT_PROMPT_VERSION = 2  # v2: the <recipient> block, so the draft addresses the person it goes to
UNSUPPORTED = "states a fact about the prospect without evidence"


class DraftSentence(BaseModel):
    """One sentence of an LLM draft and the evidence ids it relies on."""

    text: str
    evidence_ids: list[int]
    about_prospect: bool
    new_paragraph: bool


class DraftAnswer(BaseModel):
    """The LLM's structured draft: a subject and the body sentence by sentence."""

    subject: str
    sentences: list[DraftSentence]


@dataclass(frozen=True)
class GroundedDraft:
    """A checked draft: its text, the evidence ids it uses, and flags for unsupported sentences."""

    subject: str
    body: str
    evidence_ids: tuple[int, ...]
    flags: tuple[dict[str, Any], ...]


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def ground_draft(answer: DraftAnswer, *, evidence_ids: set[int], names: tuple[str, ...] = ()) -> GroundedDraft:
    """Keep citations that are this lead's evidence; flag sentences whose prospect facts lack any."""
    used: set[int] = set()
    flags: list[dict[str, Any]] = []
    body = ""
    lowered_names = [n.lower() for n in names if len(n) >= 3]
    for sentence in answer.sentences:
        text = _one_line(sentence.text)
        if not text:
            continue
        cited = set(sentence.evidence_ids)
        valid, foreign = cited & evidence_ids, cited - evidence_ids
        used |= valid
        if foreign:
            flags.append(
                {
                    "sentence": text,
                    "blocking": True,
                    "reason": f"cites evidence that is not this lead's ({', '.join(map(str, sorted(foreign)))})",
                }
            )
        names_prospect = any(name in text.lower() for name in lowered_names)
        if (sentence.about_prospect or names_prospect) and not valid:
            flags.append({"sentence": text, "blocking": True, "reason": UNSUPPORTED})
        body += ("\n\n" if sentence.new_paragraph else " ") + text if body else text
    return GroundedDraft(
        subject=_one_line(answer.subject)[:200], body=body, evidence_ids=tuple(sorted(used)), flags=tuple(flags)
    )


def _angle(session: Any, *, workspace_id: int, campaign_id: int | None) -> tuple[Angle, int | None]:
    query = select(Campaign.id, StrategyVersion.data).join(
        StrategyVersion, StrategyVersion.id == Campaign.approved_version_id
    )
    query = query.where(Campaign.workspace_id == workspace_id)
    row = session.execute(query.where(Campaign.id == campaign_id)).first() if campaign_id else None
    row = row or session.execute(query.order_by(Campaign.id.desc()).limit(1)).first()
    if row is None:
        return Angle(), campaign_id
    try:
        return parse_strategy(row.data).angle, row.id
    except InvalidInput:
        return Angle(), row.id


def _evidence_block(rows: list[Evidence]) -> str:
    lines = []
    for e in rows:
        line = f"[{e.id}] {e.field}: {_one_line(e.value)[:300]}"
        if e.snippet:
            line += f" (snippet: {_one_line(e.snippet)[:200]})"
        lines.append(line + f" (source: {e.source_url[:200]})")
    return "\n".join(lines) or "(no evidence)"


def recipient_block(contact: Contact) -> str:
    """Who the draft goes to: the named person with role and title, or the generic address."""
    name = _one_line(contact.person_name)
    if not name:
        return f"a generic address ({contact.value}); no named person"
    title = _one_line(contact.person_title)
    role = normalise_role(title) if title else ""
    lines = [f"name: {name}"]
    if role:
        lines.append(f"role: {role}")
    if title and title.lower() != role:
        lines.append(f"title as written: {title}")
    return "\n".join(lines)


@dataclass(frozen=True)
class _Prepared:
    lead_id: int
    contact_id: int
    request: LLMRequest
    evidence_ids: set[int]
    names: tuple[str, ...]


def _prepare(
    uow: UnitOfWork, *, workspace_id: int, lead: Lead, channel: str, step: int, sender_name: str
) -> _Prepared | str:
    """The LLM request for one lead, or why the lead gets no draft."""
    session = uow.session
    if lead.status == "do_not_contact":
        return "marked do-not-contact"
    contact: Contact | None = pick_contact(session, lead=lead, channel=channel)
    if contact is None:
        return f"no {'email address' if channel == 'email' else 'phone number'}"
    reason = is_suppressed(
        session, workspace_id=workspace_id, channel=channel, address=contact.normalised_value or contact.value
    )
    if reason:
        return f"{contact.value} is suppressed ({reason})"
    try:
        refuse_unsendable_contact(contact, channel=channel)
    except InvalidInput as error:
        return f"{contact.value}: {error}"
    if session.scalar(
        select(Message.id).where(
            Message.workspace_id == workspace_id,
            Message.lead_id == lead.id,
            Message.contact_id == contact.id,
            Message.channel == channel,
            Message.step == step,
        )
    ):
        return f"already has a step {step} {channel} message"
    evidence = list(
        session.scalars(
            select(Evidence)
            .where(Evidence.lead_id == lead.id, Evidence.workspace_id == workspace_id)
            .order_by(Evidence.created_at.desc(), Evidence.id.desc())
            .limit(MAX_EVIDENCE)
        )
    )
    angle, campaign_id = _angle(session, workspace_id=workspace_id, campaign_id=lead.campaign_id)
    data = {
        "angle": f"value proposition: {angle.value_proposition or '(not set)'}\ntone: {angle.tone or 'friendly, plain'}",
        "company": f"name: {lead.name or lead.domain}\nwebsite: {lead.website or lead.domain}\n"
        f"industry: {lead.industry or ''}\nlocation: {lead.location or ''}",
        "evidence": _evidence_block(evidence),
        "recipient": recipient_block(contact),
        "channel": channel,
        "sender": sender_name or "the sender",
    }
    request = LLMRequest(
        purpose="draft",
        prompt=load_prompt("draft", DRAFT_PROMPT_VERSION),
        data=data,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
    )
    names = tuple(n for n in (lead.name, lead.domain.split(".")[0] if lead.domain else "") if n)
    return _Prepared(
        lead_id=lead.id, contact_id=contact.id, request=request, evidence_ids={e.id for e in evidence}, names=names
    )


def create_ai_drafts(
    *,
    workspace_id: int,
    lead_ids: list[int],
    channel: str,
    llm: LLM,
    step: int = 1,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
    progress: Callable[[int, int], None] | None = None,
) -> DraftOutcome:
    """One grounded LLM draft per lead (no database transaction is held while the model answers)."""
    if channel not in ("email", "sms"):
        raise InvalidInput("Channel must be email or sms.")
    created: list[int] = []
    skipped: list[tuple[int, str]] = []
    with uow_factory() as uow:
        workspace = uow.session.get(Workspace, workspace_id)
        sender_name = (workspace.settings.get("from_name") if workspace else "") or get_settings().outreach_from_name
        found = list(
            uow.session.scalars(
                select(Lead.id)
                .where(Lead.workspace_id == workspace_id, Lead.deleted_at.is_(None), Lead.id.in_(lead_ids))
                .order_by(Lead.id)
            )
        )
    skipped.extend((lead_id, "not in this workspace") for lead_id in sorted(set(lead_ids) - set(found)))
    for done, lead_id in enumerate(found, start=1):
        with uow_factory() as uow:
            lead = uow.session.get(Lead, lead_id)
            assert lead is not None
            prepared = _prepare(
                uow, workspace_id=workspace_id, lead=lead, channel=channel, step=step, sender_name=sender_name
            )
        if isinstance(prepared, str):
            skipped.append((lead_id, prepared))
        else:
            try:
                answer = llm.structured(prepared.request, DraftAnswer).value
            except QuotaExceeded as error:
                skipped.extend((rest, str(error)) for rest in found[done - 1 :])
                break
            except LLMError as error:
                skipped.append((lead_id, f"the AI draft failed: {error}"))
            else:
                result = _save(
                    uow_factory,
                    workspace_id=workspace_id,
                    prepared=prepared,
                    channel=channel,
                    step=step,
                    draft=ground_draft(answer, evidence_ids=prepared.evidence_ids, names=prepared.names),
                )
                if isinstance(result, int):
                    created.append(result)
                else:
                    skipped.append((lead_id, result))
        if progress:
            progress(done, len(found))
    return DraftOutcome(created=tuple(created), skipped=tuple(skipped))


def _save(
    uow_factory: Callable[[], UnitOfWork],
    *,
    workspace_id: int,
    prepared: _Prepared,
    channel: str,
    step: int,
    draft: GroundedDraft,
) -> int | str:
    if not draft.body:
        return "the AI returned an empty draft"
    with uow_factory() as uow:
        message = Message(
            workspace_id=workspace_id,
            lead_id=prepared.lead_id,
            contact_id=prepared.contact_id,
            channel=channel,
            step=step,
            subject=draft.subject if channel == "email" else "",
            body=draft.body,
            status="draft",
            evidence_ids=list(draft.evidence_ids),
            flags=list(draft.flags),
        )
        uow.session.add(message)
        try:
            uow.commit()
        except IntegrityError:
            return f"already has a step {step} {channel} message"
        return message.id


def ai_drafts_available() -> bool:
    """True when an LLM key is configured (without one, drafts come from templates only)."""
    return get_settings().openai_enabled


def start_ai_drafts(*, actor: Actor, lead_ids: list[int], channel: str, step: int = 1) -> int:
    """Start the drafting job for a selection of leads; returns the job id."""
    actor.require_permission("outreach.draft")
    if not ai_drafts_available():
        raise InvalidInput("AI drafts need an OpenAI key (Settings); use a template instead.")
    if not lead_ids:
        raise InvalidInput("Select at least one lead.")
    return background.submit(
        kind=background.kinds.DRAFT,
        args={"lead_ids": [int(i) for i in lead_ids], "channel": channel, "step": step},
        actor=actor,
    )
