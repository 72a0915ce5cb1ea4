"""Leads: the repository (upsert, dedupe, evidence), queries for the table, CSV in and out."""
