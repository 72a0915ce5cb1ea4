"""Who is acting: a signed-in user in one workspace, with a role. Every service call is scoped by it."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import PermissionDenied

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
