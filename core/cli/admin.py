"""``migrate``, ``create-user``, ``create-api-key`` and ``jobs``: set-up and inspection without the UI."""

from __future__ import annotations

import argparse
import json

from core.cli.output import print_json


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the admin subcommands."""
    migrate = subparsers.add_parser("migrate", help="apply database migrations (or --revision/--down)")
    migrate.add_argument("--revision", default="head")
    migrate.add_argument("--down", action="store_true", help="downgrade to --revision (default base)")
    migrate.set_defaults(func=run_migrate)

    create = subparsers.add_parser("create-user", help="create a user (and workspace) and print the ids as JSON")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--workspace", required=True, help="workspace name; created if it does not exist")
    create.add_argument("--role", default="owner", choices=["owner", "admin", "member"])
    create.set_defaults(func=run_create_user)

    key = subparsers.add_parser(
        "create-api-key", help="create an API key for a workspace (as its owner) and print it once as JSON"
    )
    key.add_argument("--workspace", required=True, help="workspace name")
    key.add_argument("--scopes", default="read", help="comma-separated: read, write, send (default read)")
    key.add_argument("--name", default="command line", help="what the key is for")
    key.add_argument("--days", type=int, default=None, help="lifetime in days (default API_KEY_DEFAULT_DAYS; 0 = none)")
    key.add_argument("--json", action="store_true", help="JSON output (the default; accepted for scripts)")
    key.set_defaults(func=run_create_api_key)

    jobs = subparsers.add_parser("jobs", help="list recent jobs as JSON")
    jobs.add_argument("--workspace", help="only this workspace (name)")
    jobs.add_argument("--status")
    jobs.add_argument("--limit", type=int, default=50)
    jobs.set_defaults(func=run_jobs)


def run_migrate(args: argparse.Namespace) -> int:
    """Apply (or revert) migrations on the configured database."""
    from core.db import migrate

    if args.down:
        migrate.downgrade(revision="base" if args.revision == "head" else args.revision)
    else:
        migrate.upgrade(revision=args.revision)
    print_json({"migrated": True, "revision": args.revision, "direction": "down" if args.down else "up"})
    return 0


def run_create_user(args: argparse.Namespace) -> int:
    """Create a user with a password in a named workspace."""
    from core.auth import admin

    ids = admin.create_user(email=args.email, password=args.password, workspace_name=args.workspace, role=args.role)
    print_json(ids)
    return 0


def run_create_api_key(args: argparse.Namespace) -> int:
    """Create an API key in a named workspace, acting as its owner; the key is printed this once."""
    from core.apikeys import service as apikeys

    actor = apikeys.owner_actor(workspace_name=args.workspace)
    created = apikeys.create_api_key(actor=actor, name=args.name, scopes=args.scopes, expires_in_days=args.days)
    print_json(
        {
            "id": created.id,
            "key": created.key,
            "name": created.name,
            "scopes": list(created.scopes),
            "expires_at": created.expires_at.isoformat() if created.expires_at else None,
        }
    )
    return 0


def run_jobs(args: argparse.Namespace) -> int:
    """Print recent jobs as a JSON list."""
    from core.auth import admin

    print(
        json.dumps(
            admin.list_jobs_for_cli(workspace_name=args.workspace, status=args.status, limit=args.limit),
            default=str,
            indent=2,
        )
    )
    return 0
