"""Identity: local accounts (argon2id) and, when configured, Supabase Auth; workspaces and roles."""

from core.auth.models import Actor, MemberView, SignedIn

__all__ = ["Actor", "MemberView", "SignedIn"]
