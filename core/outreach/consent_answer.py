"""Reading a yes/no consent answer (CSV cells, forms); no database, so the CSV check workers can load it."""

from __future__ import annotations

YES = frozenset({"yes", "y", "true", "1", "ja", "oui", "si", "x", "opt-in", "opted in"})
NO = frozenset({"no", "n", "false", "0", "nein", "non", "opt-out", "opted out"})


def parse_consent(raw: str) -> bool | None:
    """yes -> True, no -> False, blank -> None (leave as is); ``ValueError`` for anything else."""
    value = raw.strip().lower()
    if not value:
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    raise ValueError(f"sms_consent '{raw[:20]}' is not yes or no")
