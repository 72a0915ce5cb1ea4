"""The permission table: docs/permissions.md prints it, and every service that acts for a user checks it."""

from __future__ import annotations

import ast

from core.config import PROJECT_ROOT
from core.permissions import PERMISSIONS, ROLES, table_markdown

# Public functions that take an actor but need no check of their own: helpers that run inside a checked
# service, the audit writer, background submission (each caller checked its own action), the job list of
# the actor's own workspace, and the System page's health and activity (they hide server details from
# roles without ``system.details`` instead of refusing).
UNCHECKED = {
    "core/audit.py:audit",
    "core/leads/repository.py:lead_or_raise",
    "core/leads/repository.py:owned_lead_ids",
    "core/leads/trash.py:move_to_trash",
    "core/background/service.py:submit",
    "core/background/queries.py:get_job",
    "core/background/queries.py:get_job_or_raise",
    "core/background/queries.py:list_jobs",
    "core/monitoring/health.py:health",
    "core/monitoring/health.py:activity",
    "core/monitoring/queues.py:registry_jobs",
}


def test_docs_show_the_table_the_code_enforces():
    assert table_markdown() in (PROJECT_ROOT / "docs" / "permissions.md").read_text()


def test_owners_may_do_everything_and_admins_everything_members_may():
    for permission in PERMISSIONS.values():
        assert set(permission.roles) <= set(ROLES)
        assert "owner" in permission.roles
        if "member" in permission.roles:
            assert "admin" in permission.roles


def test_every_public_service_taking_an_actor_checks_a_known_action_first():
    unchecked, unknown = [], []
    for path in sorted((PROJECT_ROOT / "core").rglob("*.py")):
        name = str(path.relative_to(PROJECT_ROOT))
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            if "actor" not in [a.arg for a in node.args.kwonlyargs + node.args.args]:
                continue
            body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
            first = body[0]
            call = first.value if isinstance(first, ast.Expr) and isinstance(first.value, ast.Call) else None
            if call is None or getattr(call.func, "attr", "") != "require_permission":
                if f"{name}:{node.name}" not in UNCHECKED:
                    unchecked.append(f"{name}:{node.name}")
                continue
            action = call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else None
            if action not in PERMISSIONS:
                unknown.append(f"{name}:{node.name} -> {action}")
    assert unchecked == [] and unknown == []
