"""The duplicates panel of the leads page: groups re-read on every run, widgets keyed by the group's lead ids.

A merge cannot be undone, so the button acts on the lead ids it was drawn for (never on a position in a
list that may have changed since), checks that exactly that group still exists, and names what it merged.
"""

from __future__ import annotations

import streamlit as st

from core.actor import Actor
from core.errors import LeadScoutError
from core.leads import merge

NOTICES = "leads_dup_notices"


def _label(lead_id: int, names: dict[int, str]) -> str:
    return f"{names.get(lead_id, 'lead')} (#{lead_id})"


def _merge(actor: Actor, lead_ids: tuple[int, ...], names: dict[int, str], keep_key: str) -> None:
    """Button callback: merge the group it was drawn for, if that group is still current."""
    notices = st.session_state.setdefault(NOTICES, [])
    current = {frozenset(g.lead_ids) for g in merge.find_duplicates(actor=actor)}
    if frozenset(lead_ids) not in current:
        notices.append(
            (
                "warning",
                "Nothing was merged: the group "
                + ", ".join(_label(i, names) for i in lead_ids)
                + " has changed since it was shown (merged or deleted already). The list below is current.",
            )
        )
        return
    keep = st.session_state.get(keep_key)
    keep = keep if keep in lead_ids else lead_ids[0]
    others = [i for i in lead_ids if i != keep]
    try:
        merge.merge_leads(actor=actor, keep_id=keep, merge_ids=list(lead_ids))
    except LeadScoutError as error:
        notices.append(("error", str(error)))
        return
    notices.append(
        (
            "success",
            f"Merged {', '.join(_label(i, names) for i in others)} into {_label(keep, names)}: contacts, evidence "
            "and messages moved, recorded in the audit log.",
        )
    )


def render_duplicates(actor: Actor) -> None:
    """Find duplicates, then one merge control per group, keyed by the group's lead ids."""
    if st.button("Find duplicates", key="leads_dup_find"):
        st.session_state["leads_dups_shown"] = True
    for kind, text in st.session_state.pop(NOTICES, []):
        getattr(st, kind)(text)
    if not st.session_state.get("leads_dups_shown"):
        return
    groups = merge.find_duplicates(actor=actor)  # re-read on every run: a merged group is gone at once
    if not groups:
        st.info("No duplicates found.")
    for group in groups:
        names = dict(zip(group.lead_ids, group.names, strict=True))
        lead_ids = tuple(sorted(group.lead_ids))
        group_key = "_".join(map(str, lead_ids))
        st.markdown(f"**Same {group.reason}: `{group.key}`** — " + ", ".join(_label(i, names) for i in lead_ids))
        keep_key = f"leads_dup_keep_{group_key}"
        st.selectbox("Keep", lead_ids, format_func=lambda i, n=names: _label(i, n), key=keep_key)
        st.button(
            "Merge the others into it",
            key=f"leads_dup_merge_{group_key}",
            on_click=_merge,
            args=(actor, lead_ids, names, keep_key),
            disabled=not actor.may("lead.merge"),
            help=None if actor.may("lead.merge") else "Only owners and admins merge leads.",
        )
