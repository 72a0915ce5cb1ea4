"""Explainable fit scores: the approved rubric applied as factors, plus an optional LLM judgement."""

from core.jobs import register_kind

SCORE_JOB = "scoring.score_leads"
RESCORE_JOB = "scoring.rescore_campaign"

register_kind(SCORE_JOB, "core.scoring.service:score_leads_job", queue="llm")
register_kind(RESCORE_JOB, "core.scoring.service:rescore_campaign_job", queue="llm")
