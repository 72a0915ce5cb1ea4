"""A plain-words note of what changed between two versions of a strategy."""

from __future__ import annotations

from core.strategy.models import Strategy

_ICP_LABELS = {
    "industries": "industries",
    "locations": "locations",
    "keywords": "keywords",
    "signals": "signals",
    "exclusions": "exclusions",
}


def _quote(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(f"'{item}'" for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _list_change(label: str, old: list[str], new: list[str]) -> str | None:
    added = [item for item in new if item not in old]
    removed = [item for item in old if item not in new]
    parts = []
    if added:
        parts.append(f"added {_quote(added)}")
    if removed:
        parts.append(f"removed {_quote(removed)}")
    if not parts and old != new:
        parts.append("reordered")
    return f"{label}: {'; '.join(parts)}" if parts else None


def describe_changes(old: Strategy, new: Strategy) -> str:
    """One line per changed part ("queries: added 'x'; removed 'y'"), or "" when nothing changed."""
    lines: list[str] = []
    if old.summary != new.summary:
        lines.append("summary edited")
    for field, label in _ICP_LABELS.items():
        change = _list_change(f"ICP {label}", getattr(old.icp, field), getattr(new.icp, field))
        if change:
            lines.append(change)
    if old.icp.company_size != new.icp.company_size:
        lines.append(f"company size: '{old.icp.company_size}' -> '{new.icp.company_size}'")
    old_texts = [q.text for q in old.queries]
    new_texts = [q.text for q in new.queries]
    change = _list_change("queries", old_texts, new_texts)
    if change:
        lines.append(change)
    old_intents = {q.text: q.intent for q in old.queries}
    retold = [q.text for q in new.queries if q.text in old_intents and old_intents[q.text] != q.intent]
    if retold:
        lines.append(f"query intents edited for {_quote(retold)}")
    change = _list_change("criteria", old.criteria, new.criteria)
    if change:
        lines.append(change)
    old_weights = {f.factor: f.weight for f in old.rubric}
    new_weights = {f.factor: f.weight for f in new.rubric}
    rubric_parts = [f"'{name}' added ({weight})" for name, weight in new_weights.items() if name not in old_weights]
    rubric_parts += [f"'{name}' removed" for name in old_weights if name not in new_weights]
    rubric_parts += [
        f"'{name}' {old_weights[name]} -> {weight}"
        for name, weight in new_weights.items()
        if name in old_weights and old_weights[name] != weight
    ]
    if rubric_parts:
        lines.append("rubric: " + ", ".join(rubric_parts))
    if old.angle.value_proposition != new.angle.value_proposition:
        lines.append("value proposition edited")
    if old.angle.tone != new.angle.tone:
        lines.append(f"tone: '{old.angle.tone}' -> '{new.angle.tone}'")
    return "\n".join(lines)
