"""Identity: local accounts (argon2id) and, when configured, Supabase Auth; workspaces and roles."""

from core.auth.models import MemberView, SignedIn

__all__ = ["MemberView", "SignedIn"]
