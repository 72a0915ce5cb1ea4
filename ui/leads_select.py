"""The leads page's selection: a set of lead ids that survives sorting, paging and searching.

The table's own selection is a list of row positions, so it is read once, in the callback of the table
drawn for exactly those rows (its key is a digest of the row ids), and turned into lead ids at once.
A table drawn for other rows (another sort, page or search) is a new widget that starts from the set.
Labels are taken when a lead is first seen and never change while the page is open: the browser sends
a picker's labels back, so a label that changed would lose or swap the choice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import streamlit as st

SELECTED = "leads_sel"  # {lead id: label}, in the order the leads were selected
VERSION = "leads_sel_version"  # bumped when the set changes outside the table: the table is drawn anew
LABELS = "leads_labels"  # {lead id: label}, first label seen, for every picker on the page


def reset() -> None:
    """Forget the selection (another workspace was picked)."""
    st.session_state[SELECTED] = {}
    st.session_state[LABELS] = {}
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


def selected() -> dict[int, str]:
    """The selected leads' ids with their labels."""
    return st.session_state.setdefault(SELECTED, {})


def remember_labels(pairs: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Record each lead's label the first time it is seen; returns every label known."""
    labels: dict[int, str] = st.session_state.setdefault(LABELS, {})
    for lead_id, name in pairs:
        labels.setdefault(lead_id, f"{name} (#{lead_id})")
    return labels


def label(lead_id: int) -> str:
    return st.session_state.get(LABELS, {}).get(lead_id, f"lead #{lead_id}")


def changed() -> None:
    """The set changed outside the table: draw the table anew from it."""
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


def add(pairs: Iterable[tuple[int, str]]) -> None:
    pairs = list(pairs)
    labels = remember_labels(pairs)
    chosen = selected()
    for lead_id, _ in pairs:
        chosen.setdefault(lead_id, labels[lead_id])
    changed()


def drop(lead_ids: Iterable[int]) -> None:
    chosen = selected()
    for lead_id in lead_ids:
        chosen.pop(lead_id, None)
    changed()


def table_key(row_ids: list[int]) -> str:
    """The table widget's key: one per set of rows shown (and per outside change of the selection)."""
    digest = hashlib.sha256(",".join(map(str, row_ids)).encode()).hexdigest()[:16]
    return f"leads_table_{digest}_{st.session_state.get(VERSION, 0)}"


def default_rows(row_ids: list[int]) -> dict[str, dict[str, list[int]]] | None:
    """The table's starting selection: the rows of this page whose leads are in the set."""
    chosen = selected()
    rows = [position for position, lead_id in enumerate(row_ids) if lead_id in chosen]
    return {"selection": {"rows": rows}} if rows else None


def take_table_selection(key: str, row_ids: list[int]) -> None:
    """Table callback: the ticked rows of the table drawn for ``row_ids`` become lead ids in the set."""
    rows = st.session_state[key]["selection"]["rows"]
    ticked = {row_ids[i] for i in rows if 0 <= i < len(row_ids)}
    chosen = selected()
    newly = [lead_id for lead_id in row_ids if lead_id in ticked and lead_id not in chosen]
    for lead_id in row_ids:
        if lead_id in ticked:
            chosen.setdefault(lead_id, label(lead_id))
        else:
            chosen.pop(lead_id, None)
    if newly:
        st.session_state["leads_open"] = newly[0]


def take_picker_selection() -> None:
    """ "Selected leads" picker callback: it holds the whole set, so what it holds now is the set."""
    picked = list(st.session_state["leads_selected"])
    chosen = selected()
    for lead_id in list(chosen):
        if lead_id not in picked:
            del chosen[lead_id]
    for lead_id in picked:
        chosen.setdefault(lead_id, label(lead_id))
    changed()


def describe(limit: int = 10) -> str:
    """The exact count and the names of the selection, for a confirmation."""
    chosen = selected()
    names = list(chosen.values())
    shown = ", ".join(names[:limit])
    more = f" and {len(names) - limit:,} more" if len(names) > limit else ""
    return f"{len(names):,} lead{'s' if len(names) != 1 else ''}: {shown}{more}"


def confirm_key(prefix: str) -> str:
    """A confirmation widget's key, tied to exactly the selected ids (a tick never carries over to others)."""
    digest = hashlib.sha256(",".join(map(str, sorted(selected()))).encode()).hexdigest()[:16]
    return f"{prefix}_{digest}"
