"""Sign in, or create an account (the first account owns a new workspace)."""

from __future__ import annotations

import streamlit as st

from core.auth import service as auth
from core.config import get_settings
from ui import signin_supabase
from ui.common import show_errors

st.title("LeadScout")
st.caption("Find companies that fit, learn what they do, and reach out — once, politely.")

if get_settings().supabase_enabled:
    signin_supabase.render()
    st.stop()

invite = st.query_params.get("invite", "")
if invite:
    st.info("You were invited to a workspace: create your account under **Create account** with the invited email.")
sign_in_tab, sign_up_tab = st.tabs(["Sign in", "Create account"])

with sign_in_tab, st.form("signin_form"):
    email = st.text_input("Email", key="signin_email")
    password = st.text_input("Password", type="password", key="signin_password")
    if st.form_submit_button("Sign in", type="primary"):
        with show_errors():
            signed = auth.sign_in(email=email, password=password)
            st.session_state["auth_token"] = signed.token
            st.session_state["app_handoff"] = True
            st.rerun()

with sign_up_tab, st.form("signup_form"):
    new_email = st.text_input("Email", key="signup_email")
    name = st.text_input("Your name", key="signup_name")
    workspace = st.text_input("Team or company name", key="signup_workspace", help="Your new workspace's name.")
    new_password = st.text_input("Password (10+ characters)", type="password", key="signup_password")
    invite_code = st.text_input(
        "Invitation code", value=invite, key="signup_invite", help="Filled in when you open an invitation link."
    )
    if st.form_submit_button("Create account", type="primary"):
        with show_errors():
            auth.sign_up(
                email=new_email,
                password=new_password,
                workspace_name=workspace,
                display_name=name,
                invite_token=invite_code,
            )
            signed = auth.sign_in(email=new_email, password=new_password)
            st.session_state["auth_token"] = signed.token
            st.session_state["app_handoff"] = True
            st.rerun()
