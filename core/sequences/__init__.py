"""Sequences: steps of outreach that stop when the contact answers (issue 16 §1)."""
