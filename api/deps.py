"""Who calls: the API key of ``Authorization: Bearer``, checked for the scope an operation needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.apikeys import service as apikeys
from core.apikeys.service import ApiPrincipal

bearer = HTTPBearer(auto_error=False, description="An API key made on the Settings page or with `create-api-key`.")


def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> ApiPrincipal:
    """The key's principal (401 problem for a missing, unknown, revoked or expired key)."""
    found: ApiPrincipal = apikeys.authenticate(credentials.credentials if credentials else "")
    request.state.api_key_id = found.key_id
    return found


def scope(name: str) -> Callable[..., ApiPrincipal]:
    """A dependency: the principal, when its key has scope ``name`` (403 problem otherwise)."""

    def check(found: Annotated[ApiPrincipal, Depends(principal)]) -> ApiPrincipal:
        found.require(name)
        return found

    return check


READ = Depends(scope("read"))
WRITE = Depends(scope("write"))
SEND = Depends(scope("send"))
