"""Sign-up, sign-in, sign-out, wrong password, throttling and roles through the real app (AppTest)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import service as auth
from core.auth import team
from core.config import PROJECT_ROOT
from tests.conftest import invitation_token, unique

pytestmark = pytest.mark.usefixtures("run_app_py_on_every_rerun")  # these tests open app.py

PASSWORD = "a long enough password"


def fresh_app() -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=30)
    at.run()
    return at


def follow_handoff(at: AppTest) -> None:
    """A real browser follows the sign-in hand-off to /session/start and comes back with its cookie; until then
    the app shows only the hand-off notice (never "Signed in as", so a reload in the gap cannot sign anyone out)."""
    notices = [i.value for i in at.info if i.value.startswith("Signing you in")]
    if notices:
        assert not [c.value for c in at.caption if "Signed in as" in c.value]
        assert "/session/start?code=" in notices[0]
        at.run()


def sign_up(at: AppTest, email: str) -> None:
    at.text_input(key="signup_email").set_value(email)
    at.text_input(key="signup_name").set_value("Pat Doe")
    at.text_input(key="signup_workspace").set_value(unique("Acme"))
    at.text_input(key="signup_password").set_value(PASSWORD)
    at.button[1].click()  # the sign-up form's submit button
    at.run()
    follow_handoff(at)


def sign_in(at: AppTest, email: str, password: str) -> None:
    at.text_input(key="signin_email").set_value(email)
    at.text_input(key="signin_password").set_value(password)
    at.button[0].click()
    at.run()
    follow_handoff(at)


def test_sign_up_then_sign_out_then_sign_in():
    email = f"{unique('pat')}@example.test"
    at = fresh_app()
    assert at.text_input(key="signin_email") is not None
    sign_up(at, email)
    assert not at.exception
    assert any(f"Signed in as {email}" in c.value for c in at.caption)
    assert at.title[0].value == "What are you looking for?"

    at.button(key="app_sign_out_button").click()
    at.run()
    assert not at.exception
    assert "auth_token" not in at.session_state
    assert "actor" not in at.session_state
    assert at.text_input(key="signin_email") is not None

    sign_in(at, email, PASSWORD)
    assert not at.exception
    assert any(f"Signed in as {email}" in c.value for c in at.caption)


def test_wrong_password_is_refused_with_a_clear_message():
    email = f"{unique('sam')}@example.test"
    auth.sign_up(email=email, password=PASSWORD)
    at = fresh_app()
    sign_in(at, email, "not the password")
    assert [e.value for e in at.error] == ["Wrong email or password."]
    assert "auth_token" not in at.session_state


def test_throttling_kicks_in_after_repeated_failures():
    email = f"{unique('lee')}@example.test"
    auth.sign_up(email=email, password=PASSWORD)
    at = fresh_app()
    for _ in range(5):
        sign_in(at, email, "guess")
    sign_in(at, email, PASSWORD)  # even the right password waits now
    assert "Too many failed sign-ins" in at.error[0].value
    assert "auth_token" not in at.session_state


def test_a_member_cannot_change_roles_on_the_settings_page(owner):
    member_email = f"{unique('mem')}@example.test"
    team.add_member(actor=owner, email=member_email, role="member")
    auth.sign_up(email=member_email, password=PASSWORD, invite_token=invitation_token(owner, member_email))
    at = fresh_app()
    sign_in(at, member_email, PASSWORD)
    at.switch_page("pages/settings.py").run()
    assert not at.exception
    assert any("Only owners and admins" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "Change role"]


def test_an_owner_adds_a_member_and_changes_a_role(owner):
    signed_email = owner.email
    at = fresh_app()
    sign_in(at, signed_email, "correct horse battery")
    at.switch_page("pages/settings.py").run()
    new_email = f"{unique('new')}@example.test"
    at.text_input(key="settings_new_email").set_value(new_email)
    at.selectbox(key="settings_new_role").set_value("member")
    [b for b in at.button if b.label == "Add"][0].click()
    at.run()
    assert not at.exception
    assert any(new_email in s.value for s in at.success)
    token = invitation_token(owner, new_email)
    assert any(token in c.value for c in at.code)  # the invite link, for the inviter to send
    member_id = next(m.user_id for m in team.list_members(actor=owner) if m.email == new_email)
    at.selectbox(key="settings_member").set_value(member_id)
    at.selectbox(key="settings_member_role").set_value("admin")
    at.button(key="settings_change_role").click()
    at.run()
    roles = {m.email: m.role for m in team.list_members(actor=owner)}
    assert roles[new_email] == "admin"


def test_an_invitation_link_fills_the_code_and_joins_the_workspace(owner):
    invited = f"{unique('inv')}@example.test"
    team.add_member(actor=owner, email=invited, role="member")
    token = invitation_token(owner, invited)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=30)
    at.query_params["invite"] = token
    at.run()
    assert at.text_input(key="signup_invite").value == token
    at.text_input(key="signup_invite").set_value("")
    sign_up(at, invited)  # without the code: refused
    assert "invitation link" in at.error[0].value
    assert "auth_token" not in at.session_state
    at.text_input(key="signup_invite").set_value(token)
    sign_up(at, invited)
    assert not at.exception
    assert any(f"Signed in as {invited}" in c.value for c in at.caption)
    signed = auth.sign_in(email=invited, password=PASSWORD)
    assert [ws[0] for ws in signed.workspaces] == [owner.workspace_id]
