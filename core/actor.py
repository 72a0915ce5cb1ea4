"""Who is acting: a signed-in user in one workspace, with a role. Every service call is scoped by it."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import PermissionDenied
from core.permissions import PERMISSIONS, allowed

ROLE_RANK = {"member": 0, "admin": 1, "owner": 2}


@dataclass(frozen=True)
class Actor:
    """The signed-in user acting in one workspace; every service call is scoped by it."""

    user_id: int
    email: str
    workspace_id: int
    workspace_name: str
    role: str

    @property
    def can_manage_team(self) -> bool:
        """Owners and admins may add members and change roles."""
        return ROLE_RANK[self.role] >= ROLE_RANK["admin"]

    def require(self, minimum_role: str) -> None:
        """Raise ``PermissionDenied`` unless this actor has at least ``minimum_role``."""
        if ROLE_RANK[self.role] < ROLE_RANK[minimum_role]:
            raise PermissionDenied(
                f"This needs the {minimum_role} role; you are a {self.role} of "
                f"{self.workspace_name}. Ask an owner or admin."
            )

    def may(self, action: str) -> bool:
        """Whether this actor's role may do ``action`` (see ``core/permissions.py``)."""
        return allowed(self.role, action)

    def require_permission(self, action: str) -> None:
        """Raise ``PermissionDenied`` unless the permission table lets this actor's role do ``action``."""
        if not allowed(self.role, action):
            permission = PERMISSIONS[action]
            minimum = min(permission.roles, key=lambda r: ROLE_RANK[r])
            raise PermissionDenied(
                f"{permission.does}: this needs the {minimum} role; you are a {self.role} of "
                f"{self.workspace_name}. Ask an owner or admin."
            )
