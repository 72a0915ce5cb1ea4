"""An invited seat is taken only with the invitation's signed single-use token (issue 19, item 5)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from core.auth import service as auth
from core.auth import team
from core.config import get_settings
from core.errors import PermissionDenied
from tests.conftest import unique

PASSWORD = "correct horse battery"


@pytest.fixture
def closed_signup(monkeypatch):
    monkeypatch.setenv("OPEN_SIGNUP", "false")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def invited(owner, closed_signup):
    """An owner invites a new hire as admin; returns (owner, address)."""
    address = f"{unique('new.hire')}@claim.example"
    team.add_member(actor=owner, email=address, role="admin")
    return owner, address


def token_for(owner, address: str) -> str:
    """The token in the invitation link the team page shows the inviter."""
    [invitation] = [i for i in team.pending_invitations(actor=owner) if i.email == address]
    assert invitation.role == "admin"
    assert invitation.link.startswith(get_settings().public_base_url.rstrip("/") + "/?invite=")
    return parse_qs(urlsplit(invitation.link).query)["invite"][0]


def workspaces_of(address: str) -> list[tuple[int, str]]:
    signed = auth.sign_in(email=address, password=PASSWORD)
    return [(ws_id, role) for ws_id, _name, role in signed.workspaces]


def test_sign_up_without_the_token_does_not_take_the_seat(invited):
    owner, address = invited
    with pytest.raises(PermissionDenied, match="invitation link"):
        auth.sign_up(email=address, password=PASSWORD)
    with pytest.raises(PermissionDenied):
        auth.sign_in(email=address, password=PASSWORD)  # no password was set
    assert token_for(owner, address)  # the invitation is still open


def test_sign_up_with_the_token_joins_once(invited):
    owner, address = invited
    token = token_for(owner, address)
    auth.sign_up(email=address, password=PASSWORD, invite_token=token)
    assert workspaces_of(address) == [(owner.workspace_id, "admin")]
    assert team.pending_invitations(actor=owner) == []
    with pytest.raises(PermissionDenied, match="already used"):
        auth.sign_up(email=address, password="another long password", invite_token=token)
    assert workspaces_of(address) == [(owner.workspace_id, "admin")]  # the first password still works


def test_a_token_is_refused_for_another_email(invited):
    owner, address = invited
    token = token_for(owner, address)
    other = f"{unique('someone')}@claim.example"
    with pytest.raises(PermissionDenied, match="another email"):
        auth.sign_up(email=other, password=PASSWORD, invite_token=token)
    with pytest.raises(PermissionDenied, match="invitation link"):
        auth.sign_up(email=address, password=PASSWORD, invite_token="")
    auth.sign_up(email=address, password=PASSWORD, invite_token=token)  # the invited address still can
    assert workspaces_of(address) == [(owner.workspace_id, "admin")]


@pytest.mark.parametrize("tamper", [lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), lambda t: "x" + t])
def test_a_forged_token_is_refused(invited, tamper):
    owner, address = invited
    token = token_for(owner, address)
    with pytest.raises(PermissionDenied, match="not valid"):
        auth.sign_up(email=address, password=PASSWORD, invite_token=tamper(token))


def test_a_removed_members_invitation_no_longer_works(invited):
    owner, address = invited
    token = token_for(owner, address)
    [member] = [m for m in team.list_members(actor=owner) if m.email == address]
    team.remove_member(actor=owner, user_id=member.user_id)
    with pytest.raises(PermissionDenied, match="already used"):
        auth.sign_up(email=address, password=PASSWORD, invite_token=token)
