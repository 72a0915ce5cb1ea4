"""LeadScout's router: page config, sign-in gate, workspace picker, navigation."""

from __future__ import annotations

import json
from urllib.parse import quote

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.auth import service as auth
from core.auth.cookies import BROWSER_COOKIE, SESSION_COOKIE, next_path
from core.errors import LeadScoutError
from core.logs import bind_log_context, configure_logging

configure_logging("ui")
_script_context = get_script_run_ctx()
bind_log_context(session_id=_script_context.session_id if _script_context else None)
st.set_page_config(page_title="LeadScout", page_icon=":material/travel_explore:", layout="wide")


def _navigate_browser(path: str) -> None:
    """Send the browser to one of server.py's session routes (no user data in the script)."""
    st.html(f"<script>window.location.replace({json.dumps(path)});</script>", unsafe_allow_javascript=True)


def _post_browser(path: str) -> None:
    """Have the browser POST an empty form to one of server.py's session routes (a same-origin POST)."""
    st.html(
        "<script>const form = document.createElement('form'); form.method = 'post';"
        f"form.action = {json.dumps(path)}; document.body.appendChild(form); form.submit();</script>",
        unsafe_allow_javascript=True,
    )


def _signed_in() -> auth.SignedIn | None:
    # The cookie is read from this connection's handshake; a revoked one is simply refused.
    token = st.session_state.get("auth_token") or st.context.cookies.get(SESSION_COOKIE, "")
    signed = auth.restore_session(token=token) if token else None
    if signed is None:
        st.session_state.pop("auth_token", None)
    else:
        st.session_state["auth_token"] = signed.token
    return signed


def _sign_out() -> None:
    """Revoke the session, forget everything about it, and have the browser drop its cookie."""
    auth.sign_out(token=st.session_state.get("auth_token", ""))
    for key in list(st.session_state):
        del st.session_state[key]
    st.session_state["app_signed_out"] = True


if st.session_state.pop("app_signed_out", False):
    _post_browser("/session/end")  # POST: a link or an image elsewhere cannot sign anyone out

PAGES = [
    st.Page("pages/goal.py", title="Goal", icon=":material/flag:", default=True),
    st.Page("pages/strategy.py", title="Strategy", icon=":material/checklist:"),
    st.Page("pages/leads.py", title="Leads", icon=":material/table_view:"),
    st.Page("pages/insights.py", title="Insights", icon=":material/insights:"),
    st.Page("pages/system.py", title="System", icon=":material/monitor_heart:"),
    st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
    st.Page("pages/outreach.py", title="Outreach", icon=":material/send:"),
    st.Page("pages/sequences.py", title="Sequences", icon=":material/route:"),
    st.Page("pages/inbox.py", title="Inbox", icon=":material/inbox:"),
]


def _requested_path() -> str:
    """The path (and query string) the browser asked for, to come back to after signing in."""
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in st.query_params.to_dict().items() if k != "invite")
    return next_path(st.context.url or "", query)


signed = _signed_in()
if signed is None:
    # Every page's address shows the sign-in form (not "page not found"); the address is kept for after it.
    sign_in = [st.Page("pages/signin.py", title="Sign in", icon=":material/login:", default=True)]
    sign_in += [
        st.Page("pages/signin.py", title="Sign in", icon=":material/login:", url_path=p.url_path)
        for p in PAGES
        if p.url_path
    ]
    st.session_state["app_next"] = _requested_path()
    st.navigation(sign_in, position="hidden").run()
    st.stop()

browser = st.context.cookies.get(BROWSER_COOKIE, "")
if st.session_state.pop("app_handoff", False) and browser:
    # Just signed in: let this browser (and no other client) trade a one-time code for the HttpOnly session cookie.
    # Nothing else renders until the browser comes back with the cookie, so "Signed in as" is only ever shown
    # once a reload keeps the user signed in (a reload during the hand-off would otherwise sign them out).
    try:
        code = auth.create_handoff(token=signed.token, browser=browser)
        back_to = st.session_state.pop("app_next", "") or "/"  # the page asked for before signing in
        start = f"/session/start?code={quote(code)}&next={quote(back_to)}"
    except LeadScoutError:
        start = ""
    if start:
        _navigate_browser(start)
        st.info(f"Signing you in… If this page does not change, [continue]({start}).", icon=":material/login:")
        st.stop()

workspaces = {ws_id: (name, role) for ws_id, name, role in signed.workspaces}
# st.switch_page drops every widget's state, the picker's too; a plain key keeps the workspace across it.
picked = st.session_state.get("app_workspace_id", st.session_state.get("app_workspace_kept"))
if picked not in workspaces:
    picked = signed.workspaces[0][0]
st.session_state["app_workspace_id"] = st.session_state["app_workspace_kept"] = picked

with st.sidebar:
    st.markdown("### :material/travel_explore: LeadScout")
    st.selectbox(
        "Workspace",
        options=list(workspaces),
        format_func=lambda ws_id: f"{workspaces[ws_id][0]} ({workspaces[ws_id][1]})",
        key="app_workspace_id",
        disabled=len(workspaces) == 1,
    )
    st.caption(f"Signed in as {signed.email}")
    st.button("Sign out", icon=":material/logout:", key="app_sign_out_button", on_click=_sign_out)

try:
    st.session_state["actor"] = auth.actor_for(
        user_id=signed.user_id, workspace_id=st.session_state["app_workspace_id"]
    )
except LeadScoutError as error:
    st.error(str(error))
    st.stop()

st.navigation(PAGES).run()
