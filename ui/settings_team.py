"""Settings → Team: the members and their roles; owners and admins add members and change roles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actor import ROLE_RANK, Actor
from core.auth import team
from ui.common import show_errors


def render(actor: Actor) -> None:
    """The team table, and for owners and admins the add / change role / remove forms."""
    st.subheader(f"Team — {actor.workspace_name}")
    members = team.list_members(actor=actor)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "email": m.email,
                    "name": m.display_name,
                    "role": m.role,
                    "account": "active" if m.has_password else "invited",
                }
                for m in members
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    if not actor.can_manage_team:
        st.info("Only owners and admins can add members or change roles.")
        return

    roles = [r for r in ROLE_RANK if actor.role == "owner" or r != "owner"]
    with st.form("settings_add_member", clear_on_submit=True):
        st.markdown("**Add a member**")
        email = st.text_input("Email", key="settings_new_email")
        role = st.selectbox("Role", roles, index=roles.index("member"), key="settings_new_role")
        if st.form_submit_button("Add"):
            with show_errors():
                team.add_member(actor=actor, email=email, role=role)
                st.session_state["settings_notice"] = (
                    f"Added {email}. A new account joins through its invitation link below (it works once, for this "
                    "email)"
                    + (
                        "; it is on its way to them by email."
                        if team.invitations_are_emailed()
                        else ". No email provider is set up (SMTP, SendGrid or Mailgun): send them the link yourself."
                    )
                )
                st.rerun()

    if pending := team.pending_invitations(actor=actor):
        st.markdown(
            "**Open invitations** — "
            + (
                "each was emailed its link; you can also pass it on"
                if team.invitations_are_emailed()
                else "send each person their link"
            )
        )
        for invitation in pending:
            st.caption(f"{invitation.email} ({invitation.role}), valid until {invitation.expires_at:%Y-%m-%d}")
            st.code(invitation.link, language=None)

    st.markdown("**Change a role or remove someone**")
    others = {m.user_id: m for m in members if m.user_id != actor.user_id}
    if not others:
        st.caption("You are the only member.")
        return
    target = st.selectbox(
        "Member",
        list(others),
        format_func=lambda uid: f"{others[uid].email} ({others[uid].role})",
        key="settings_member",
    )
    new_role = st.selectbox("New role", list(ROLE_RANK), key="settings_member_role")
    change, remove = st.columns(2)
    if change.button("Change role", key="settings_change_role"):
        with show_errors():
            team.set_role(actor=actor, user_id=target, role=new_role)
            st.session_state["settings_notice"] = f"{others[target].email} is now {new_role}."
            st.rerun()
    if remove.button("Remove from workspace", key="settings_remove"):
        with show_errors():
            team.remove_member(actor=actor, user_id=target)
            st.session_state["settings_notice"] = f"Removed {others[target].email}."
            st.rerun()
