"""Explainable fit scores: the approved rubric applied as factors, plus an optional LLM judgement."""
