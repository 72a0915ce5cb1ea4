"""The sign-in screen when Supabase Auth is configured: email/password, Google, Facebook, reset.

Not a page of its own: ``pages/signin.py`` calls ``render()``. Links coming back from Supabase
(OAuth callback, email confirmation, password reset) land on the app with ``?state=&code=``.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import streamlit as st

from core.auth import supabase_service as supa
from core.errors import LeadScoutError
from ui.common import show_errors


def _signed_in(token: str) -> None:
    st.session_state["auth_token"] = token
    st.session_state["app_handoff"] = True
    st.rerun()


def _finish_returning_link() -> None:
    """Handle ``?state=&code=`` (or Supabase's ``?error_description=``) once, then clear the URL."""
    if st.query_params.get("signin_error") == "oauth":
        st.query_params.clear()
        st.error(
            "Google/Facebook sign-in was not completed: the link expired, was used already, or was "
            "started in another browser. Start again here."
        )
        return
    params = {key: st.query_params.get(key, "") for key in ("state", "code", "error_description")}
    if not any(params.values()):
        return
    st.query_params.clear()
    if params["error_description"]:
        st.error(f"Sign-in was not completed: {params['error_description'][:200]}")
        return
    try:
        result = supa.finish_redirect(state=params["state"], code=params["code"])
    except LeadScoutError as error:
        st.error(str(error))
        return
    if result.password_recovery:
        st.session_state["signin_recovery_token"] = result.signed.token
    else:
        _signed_in(result.signed.token)


def _choose_new_password(token: str) -> None:
    with st.form("signin_new_password_form"):
        password = st.text_input("New password", type="password", key="signin_new_password")
        if st.form_submit_button("Save password and continue", type="primary"):
            with show_errors():
                supa.set_new_password(token=token, password=password)
                del st.session_state["signin_recovery_token"]
                _signed_in(token)


def _oauth_buttons() -> None:
    columns = st.columns(len(supa.OAUTH_PROVIDERS))
    for column, (provider, label) in zip(columns, supa.OAUTH_PROVIDERS.items(), strict=True):
        if column.button(f"Continue with {label}", key=f"signin_oauth_{provider}", width="stretch"):
            with show_errors():
                st.session_state["signin_oauth_url"] = supa.start_oauth(provider=provider)
    url = st.session_state.pop("signin_oauth_url", None)  # shown once: a later rerun must not redirect again
    if url:
        # Through our own route, which ties this sign-in to this browser with an HttpOnly cookie.
        start = f"/session/oauth?{urlencode({'to': url})}"
        st.link_button("Continue to sign in", start, type="primary", width="stretch")
        st.html(f"<script>window.top.location.assign({json.dumps(start)});</script>", unsafe_allow_javascript=True)


def render() -> None:
    """The Supabase sign-in forms, or the new-password form after a reset link."""
    _finish_returning_link()
    recovery_token = st.session_state.get("signin_recovery_token")
    if recovery_token:
        st.subheader("Choose a new password")
        _choose_new_password(recovery_token)
        return
    _oauth_buttons()
    sign_in_tab, sign_up_tab, reset_tab = st.tabs(["Sign in", "Create account", "Forgot password"])
    with sign_in_tab, st.form("signin_form"):
        email = st.text_input("Email", key="signin_email")
        password = st.text_input("Password", type="password", key="signin_password")
        if st.form_submit_button("Sign in", type="primary"):
            with show_errors():
                _signed_in(supa.sign_in(email=email, password=password).token)
    with sign_up_tab, st.form("signup_form"):
        new_email = st.text_input("Email", key="signup_email")
        new_password = st.text_input("Password", type="password", key="signup_password")
        if st.form_submit_button("Create account", type="primary"):
            with show_errors():
                signed = supa.sign_up(email=new_email, password=new_password)
                if signed is None:
                    st.info(f"Check your email: we sent a confirmation link to {new_email.strip()}.")
                else:
                    _signed_in(signed.token)
    with reset_tab, st.form("signin_reset_form"):
        reset_email = st.text_input("Email", key="signin_reset_email")
        if st.form_submit_button("Send reset link"):
            with show_errors():
                supa.request_password_reset(email=reset_email)
                st.success("If an account exists for that address, a reset link is on its way.")
