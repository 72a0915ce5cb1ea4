"""Webhooks out: endpoints a workspace registers, events signed per Standard Webhooks, delivered by a job."""
