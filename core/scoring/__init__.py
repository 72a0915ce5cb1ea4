"""Explainable fit scores: the approved rubric applied as factors, plus an optional LLM judgement."""

SCORE_JOB = "scoring.score_leads"
RESCORE_JOB = "scoring.rescore_campaign"
