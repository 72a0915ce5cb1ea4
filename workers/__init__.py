"""Thin process entrypoints: RQ job functions and the HTTP receiver."""
