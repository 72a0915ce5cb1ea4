"""Local accounts: hashing, sessions that can be revoked, roles, and workspace isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.auth import service as auth
from core.auth import team
from core.db.models import AuthSession, User, utcnow
from core.errors import InvalidInput, NotFound, PermissionDenied
from tests.conftest import invitation_token, make_owner, unique

PASSWORD = "correct horse battery"


def new_email() -> str:
    return f"{unique('u')}@example.test"


def test_passwords_are_stored_as_argon2id(uow):
    email = new_email()
    auth.sign_up(email=email, password=PASSWORD)
    with uow:
        stored = uow.session.scalar(select(User.password_hash).where(User.email == email))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@b", "x@@y.com", "a b@c.com", "<a@b.com>"])
def test_bad_emails_are_refused_with_a_clear_message(bad):
    with pytest.raises(InvalidInput, match="is not an email address"):
        auth.sign_up(email=bad, password=PASSWORD)


def test_short_passwords_and_duplicate_accounts_are_refused():
    email = new_email()
    with pytest.raises(InvalidInput, match="at least 10 characters"):
        auth.sign_up(email=email, password="short")
    auth.sign_up(email=email, password=PASSWORD)
    with pytest.raises(InvalidInput, match="already exists"):
        auth.sign_up(email=email.upper(), password=PASSWORD)


def test_session_survives_a_reload_until_revoked():
    email = new_email()
    auth.sign_up(email=email, password=PASSWORD)
    signed = auth.sign_in(email=email, password=PASSWORD)
    assert auth.restore_session(token=signed.token).user_id == signed.user_id
    auth.sign_out(token=signed.token)
    assert auth.restore_session(token=signed.token) is None


def test_forged_and_expired_tokens_are_refused(uow):
    email = new_email()
    auth.sign_up(email=email, password=PASSWORD)
    signed = auth.sign_in(email=email, password=PASSWORD)
    assert auth.restore_session(token=signed.token[:-2] + "xx") is None
    assert auth.restore_session(token="garbage") is None
    with uow:
        uow.session.execute(update(AuthSession).where(AuthSession.user_id == signed.user_id).values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert auth.restore_session(token=signed.token) is None


def test_handoff_code_works_once_and_rotates_the_token():
    email = new_email()
    auth.sign_up(email=email, password=PASSWORD)
    signed = auth.sign_in(email=email, password=PASSWORD)
    code = auth.create_handoff(token=signed.token, browser="this-browser")
    assert auth.redeem_handoff(code=code, browser="another-browser") is None
    assert auth.redeem_handoff(code=code, browser="") is None
    cookie_token, max_age = auth.redeem_handoff(code=code, browser="this-browser")
    assert max_age > 0
    assert auth.redeem_handoff(code=code, browser="this-browser") is None  # single use
    assert auth.restore_session(token=signed.token) is None  # the page's copy is dead
    assert auth.restore_session(token=cookie_token).email == email


def test_removed_member_is_signed_out(owner):
    email = new_email()
    team.add_member(actor=owner, email=email)
    auth.sign_up(email=email, password=PASSWORD, invite_token=invitation_token(owner, email))
    signed = auth.sign_in(email=email, password=PASSWORD)
    assert [ws[0] for ws in signed.workspaces] == [owner.workspace_id]
    team.remove_member(actor=owner, user_id=signed.user_id)
    assert auth.restore_session(token=signed.token) is None
    with pytest.raises(PermissionDenied):
        auth.actor_for(user_id=signed.user_id, workspace_id=owner.workspace_id)


def test_role_rules(owner):
    admin_email, member_email = new_email(), new_email()
    admin_id = team.add_member(actor=owner, email=admin_email, role="admin")
    member_id = team.add_member(actor=owner, email=member_email, role="member")
    admin = auth.actor_for(user_id=admin_id, workspace_id=owner.workspace_id)
    member = auth.actor_for(user_id=member_id, workspace_id=owner.workspace_id)

    with pytest.raises(PermissionDenied, match="needs the admin role"):
        team.set_role(actor=member, user_id=admin_id, role="member")
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        team.add_member(actor=member, email=new_email())
    with pytest.raises(PermissionDenied, match="needs the owner role"):
        team.set_role(actor=admin, user_id=member_id, role="owner")
    with pytest.raises(PermissionDenied, match="needs the owner role"):
        team.set_role(actor=admin, user_id=owner.user_id, role="member")
    with pytest.raises(InvalidInput, match="at least one owner"):
        team.set_role(actor=owner, user_id=owner.user_id, role="admin")
    with pytest.raises(InvalidInput, match="Unknown role"):
        team.set_role(actor=owner, user_id=member_id, role="superuser")
    team.set_role(actor=admin, user_id=member_id, role="admin")
    assert {m.email: m.role for m in team.list_members(actor=owner)}[member_email] == "admin"


def test_workspace_isolation_for_team_services(owner):
    other = make_owner()
    assert {m.user_id for m in team.list_members(actor=other)} == {other.user_id}
    with pytest.raises(NotFound):
        team.set_role(actor=other, user_id=owner.user_id, role="member")
    with pytest.raises(NotFound):
        team.remove_member(actor=other, user_id=owner.user_id)
    with pytest.raises(PermissionDenied):
        auth.actor_for(user_id=other.user_id, workspace_id=owner.workspace_id)


def test_throttle_counts_only_recent_failures_since_the_last_success():
    email = new_email()
    auth.sign_up(email=email, password=PASSWORD)
    for _ in range(4):
        with pytest.raises(PermissionDenied, match="Wrong email or password"):
            auth.sign_in(email=email, password="nope")
    auth.sign_in(email=email, password=PASSWORD)  # success resets the count
    for _ in range(4):
        with pytest.raises(PermissionDenied):
            auth.sign_in(email=email, password="nope")
    auth.sign_in(email=email, password=PASSWORD)


def test_unknown_email_gets_the_same_answer_as_a_wrong_password():
    with pytest.raises(PermissionDenied, match="^Wrong email or password.$"):
        auth.sign_in(email=new_email(), password=PASSWORD)
