"""Supabase Auth through supabase-py against a local GoTrue that signs real JWTs (ES256, JWKS)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from core.auth import jwks, team, tokens
from core.auth import service as auth
from core.auth import supabase_service as supa
from core.auth.supabase import GoTrueAuth
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import AuthSession, User
from core.errors import InvalidInput, PermissionDenied
from tests.conftest import unique
from tests.fixtures.gotrue_server import FakeGoTrue

PASSWORD = "a long enough password"


@pytest.fixture
def gotrue(monkeypatch):
    """A running fake Supabase project, configured as this process's Supabase."""
    with FakeGoTrue() as server:
        monkeypatch.setenv("SUPABASE_URL", server.base_url)
        monkeypatch.setenv("SUPABASE_ANON_KEY", server.anon_key)
        get_settings.cache_clear()
        yield server
        monkeypatch.undo()
        get_settings.cache_clear()


def email() -> str:
    return f"{unique('supa')}@example.test"


def session_row(token: str) -> AuthSession:
    with UnitOfWork() as uow:
        row = uow.session.scalar(select(AuthSession).where(AuthSession.token_hash == tokens.token_hash(token)))
        uow.session.expunge(row)
        return row


def link_params(link: str) -> tuple[str, str]:
    query = parse_qs(urlsplit(link).query)
    return query["state"][0], query["code"][0]


def test_sign_up_opens_a_session_and_the_new_user_owns_a_workspace(gotrue):
    address = email()
    signed = supa.sign_up(email=address, password=PASSWORD)
    assert signed is not None and signed.email == address
    assert [role for _, _, role in signed.workspaces] == ["owner"]
    row = session_row(signed.token)
    assert row.provider == "supabase"
    refresh = tokens.unseal(row.provider_refresh_token)
    assert refresh in gotrue.refresh_tokens and row.provider_refresh_token != refresh  # sealed at rest
    with UnitOfWork() as uow:
        user = uow.session.scalar(select(User).where(User.email == address))
        assert user.external_id == gotrue.users[address]["id"] and user.password_hash is None
    assert auth.restore_session(token=signed.token).user_id == signed.user_id


def test_confirmation_required_then_the_emailed_link_signs_in(gotrue):
    gotrue.confirm_email = True
    address = email()
    assert supa.sign_up(email=address, password=PASSWORD) is None
    with pytest.raises(PermissionDenied, match="Confirm your email"):
        supa.sign_in(email=address, password=PASSWORD)
    state, code = link_params(gotrue.mailbox[address])
    result = supa.finish_redirect(state=state, code=code)
    assert result.signed.email == address and not result.password_recovery
    assert supa.sign_in(email=address, password=PASSWORD).user_id == result.signed.user_id


def test_sign_in_and_wrong_password(gotrue):
    address = email()
    gotrue.add_user(address, PASSWORD)
    signed = supa.sign_in(email=address, password=PASSWORD)
    assert auth.restore_session(token=signed.token) is not None
    with pytest.raises(PermissionDenied, match="Wrong email or password"):
        supa.sign_in(email=address, password="not the password")
    with pytest.raises(InvalidInput, match="already exists"):
        supa.sign_up(email=address, password=PASSWORD)


def test_refresh_rotates_the_token_and_the_old_one_is_refused(gotrue):
    address = email()
    gotrue.add_user(address, PASSWORD)
    client = GoTrueAuth(url=gotrue.base_url, anon_key=gotrue.anon_key)
    first = client.sign_in_with_password(email=address, password=PASSWORD)
    second = client.refresh(refresh_token=first.refresh_token)
    assert second.refresh_token != first.refresh_token and second.user_id == first.user_id
    with pytest.raises(PermissionDenied, match="session has ended"):
        client.refresh(refresh_token=first.refresh_token)


def test_restoring_a_session_refreshes_tokens_that_are_about_to_expire(gotrue):
    gotrue.access_ttl = 30  # inside the refresh margin: every restore refreshes
    address = email()
    gotrue.add_user(address, PASSWORD)
    signed = supa.sign_in(email=address, password=PASSWORD)
    before = tokens.unseal(session_row(signed.token).provider_refresh_token)
    assert auth.restore_session(token=signed.token) is not None
    after = tokens.unseal(session_row(signed.token).provider_refresh_token)
    assert after != before and before not in gotrue.refresh_tokens and after in gotrue.refresh_tokens
    gotrue.refresh_tokens.clear()  # Supabase revoked the session: the next restore ends ours
    assert auth.restore_session(token=signed.token) is None
    assert session_row(signed.token).revoked_at is not None


def test_sign_out_ends_the_session_here_and_at_supabase(gotrue):
    address = email()
    gotrue.add_user(address, PASSWORD)
    signed = supa.sign_in(email=address, password=PASSWORD)
    refresh = tokens.unseal(session_row(signed.token).provider_refresh_token)
    auth.sign_out(token=signed.token)
    assert auth.restore_session(token=signed.token) is None
    assert "POST /auth/v1/logout" in gotrue.requests and refresh not in gotrue.refresh_tokens


def test_password_reset_link_signs_in_and_sets_a_new_password(gotrue):
    address = email()
    gotrue.add_user(address, PASSWORD)
    supa.request_password_reset(email=address)
    assert "POST /auth/v1/recover" in gotrue.requests
    state, code = link_params(gotrue.mailbox[address])
    result = supa.finish_redirect(state=state, code=code)
    assert result.password_recovery
    supa.set_new_password(token=result.signed.token, password="a brand new password")
    assert supa.sign_in(email=address, password="a brand new password").email == address


def test_a_state_is_used_once_and_an_unknown_state_is_refused(gotrue):
    address = email()
    gotrue.add_user(address, PASSWORD)
    supa.request_password_reset(email=address)
    state, code = link_params(gotrue.mailbox[address])
    with pytest.raises(PermissionDenied, match="expired or was used"):
        supa.finish_redirect(state="not-" + state, code=code)
    supa.finish_redirect(state=state, code=code)
    with pytest.raises(PermissionDenied, match="expired or was used"):
        supa.finish_redirect(state=state, code=code)


def test_an_invited_member_is_linked_by_confirmed_email(gotrue, owner):
    address = email()
    team.add_member(actor=owner, email=address, role="member")
    gotrue.add_user(address, PASSWORD)
    signed = supa.sign_in(email=address, password=PASSWORD)
    assert (owner.workspace_id, owner.workspace_name, "member") in signed.workspaces


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda g, e: g.mint(e, exp=1_000_000_000), id="expired"),
        pytest.param(lambda g, e: g.mint(e, aud="anon"), id="wrong-audience"),
        pytest.param(lambda g, e: g.mint(e, iss="https://elsewhere.test/auth/v1"), id="wrong-issuer"),
        pytest.param(
            lambda g, e: __import__("jwt").encode(
                {"sub": g.users[e]["id"], "aud": "authenticated", "iss": g.issuer, "exp": 4_000_000_000},
                ec.generate_private_key(ec.SECP256R1()),
                algorithm="ES256",
                headers={"kid": g.kid},
            ),
            id="wrongly-signed",
        ),
        pytest.param(lambda g, e: _unsigned(g.mint(e)), id="alg-none"),
        pytest.param(lambda g, e: _hs256_with_public_key(g, e), id="hs256-with-public-key"),
    ],
)
def test_bad_access_tokens_are_refused(gotrue, forge):
    address = email()
    gotrue.add_user(address, PASSWORD)
    good = gotrue.mint(address)
    assert jwks.verify_access_token(good, supabase_url=gotrue.base_url).email == address
    with pytest.raises(PermissionDenied, match="could not be verified"):
        jwks.verify_access_token(forge(gotrue, address), supabase_url=gotrue.base_url)


def test_a_new_project_on_an_address_an_earlier_one_used_is_verified_with_its_own_keys():
    """The CI flake of stop 12: the OS gave a fake project the port of one torn down seconds before."""
    with FakeGoTrue() as first:
        first.add_user(address := email(), PASSWORD)
        assert jwks.verify_access_token(first.mint(address), supabase_url=first.base_url).email == address
        port = int(first.base_url.rsplit(":", 1)[1])
    with FakeGoTrue(port=port) as second:
        assert second.base_url == first.base_url and second.kid != first.kid
        second.add_user(address, PASSWORD)
        assert jwks.verify_access_token(second.mint(address), supabase_url=second.base_url).email == address
        with pytest.raises(PermissionDenied, match="could not be verified"):
            jwks.verify_access_token(first.mint(address), supabase_url=second.base_url)


def test_a_revoked_key_is_refused_once_the_cached_keys_are_forgotten(gotrue):
    gotrue.add_user(address := email(), PASSWORD)
    good = gotrue.mint(address)
    assert jwks.verify_access_token(good, supabase_url=gotrue.base_url).email == address
    gotrue.key, gotrue.kid = ec.generate_private_key(ec.SECP256R1()), "rotated"  # old key revoked
    assert jwks.verify_access_token(good, supabase_url=gotrue.base_url).email == address  # still cached
    jwks.forget_keys(gotrue.base_url)
    with pytest.raises(PermissionDenied, match="could not be verified"):
        jwks.verify_access_token(good, supabase_url=gotrue.base_url)


def test_a_session_whose_stored_token_is_forged_is_revoked_on_restore(gotrue):
    address = email()
    gotrue.add_user(address, PASSWORD)
    signed = supa.sign_in(email=address, password=PASSWORD)
    with UnitOfWork() as uow:
        row = uow.session.scalar(select(AuthSession).where(AuthSession.token_hash == tokens.token_hash(signed.token)))
        row.provider_access_token = tokens.seal(gotrue.mint(address, aud="anon"))
        uow.commit()
    assert auth.restore_session(token=signed.token) is None
    assert session_row(signed.token).revoked_at is not None


def _unsigned(token: str) -> str:
    import base64
    import json

    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    return f"{header}.{token.split('.')[1]}."


def _hs256_with_public_key(gotrue: FakeGoTrue, address: str) -> str:
    import base64
    import hashlib
    import hmac
    import json

    from cryptography.hazmat.primitives import serialization

    pem = gotrue.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": gotrue.kid}
    payload = json.loads(base64.urlsafe_b64decode(gotrue.mint(address).split(".")[1] + "=="))
    parts = [base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=").decode() for p in (header, payload)]
    signature = hmac.new(pem, ".".join(parts).encode(), hashlib.sha256).digest()
    return ".".join([*parts, base64.urlsafe_b64encode(signature).rstrip(b"=").decode()])
