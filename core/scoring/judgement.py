"""The LLM's judgement of fit (0-100) with reasons that cite the lead's own evidence ids."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.llm import LLM, LLMRequest, load_prompt
from core.scoring.rules import Factor, LeadFacts
from core.strategy.models import ICP

MAX_EVIDENCE_LINES = 40


class JudgementReason(BaseModel):
    """One reason, and the evidence lines it rests on."""

    text: str = Field(max_length=400)
    evidence_ids: list[int] = []


class FitJudgement(BaseModel):
    """The LLM's answer (validated at the edge)."""

    fit: int = Field(ge=0, le=100)
    reasons: list[JudgementReason] = Field(default_factory=list, max_length=6)


def _data(icp: ICP, facts: LeadFacts) -> dict[str, str]:
    lead = "\n".join(
        f"{k}: {v}"
        for k, v in (
            ("name", facts.name),
            ("website", facts.domain),
            ("industry", facts.industry),
            ("location", facts.location),
            ("summary", facts.summary),
            ("technologies", ", ".join(facts.tech)),
        )
        if v
    )
    lines = [f"[{e.id}] {e.field}: {e.value[:200]} | {e.snippet[:200]}" for e in facts.evidence[:MAX_EVIDENCE_LINES]]
    return {"icp": icp.model_dump_json(), "lead": lead or "(nothing known)", "evidence": "\n".join(lines) or "(none)"}


def judge(
    llm: LLM, *, icp: ICP, facts: LeadFacts, weight: float, factor: str, workspace_id: int, campaign_id: int | None
) -> Factor:
    """Ask the LLM; keep only cited ids that are this lead's evidence, and turn the fit into points."""
    request = LLMRequest(
        purpose="score",
        prompt=load_prompt("score", 1),
        data=_data(icp, facts),
        workspace_id=workspace_id,
        campaign_id=campaign_id,
    )
    answer = llm.structured(request, FitJudgement).value
    own = {e.id for e in facts.evidence}
    cited: list[int] = []
    reasons: list[str] = []
    dropped = 0
    for reason in answer.reasons:
        valid = [i for i in reason.evidence_ids if i in own]
        dropped += len(reason.evidence_ids) - len(valid)
        cited.extend(i for i in valid if i not in cited)
        reasons.append(reason.text.strip() + (f" [{', '.join(map(str, valid))}]" if valid else ""))
    detail = f"fit {answer.fit}/100: " + " ".join(reasons)
    if dropped:
        detail += f" ({dropped} cited id(s) were not this lead's evidence and were dropped)"
    fraction = answer.fit / 100
    return Factor(factor, "judgement", weight, fraction, round(weight * fraction, 2), tuple(cited), detail[:2000])
