"""Who may do what: the permission table (owner, admin, member) for every action a service offers.

The services call ``actor.require_permission(action)`` first thing, before they read anything, so a
refused call changes nothing and reveals nothing. ``docs/permissions.md`` prints this table (a test
checks the two agree), and ``tests/integration/test_permissions.py`` calls every action as every role.
Changing a role's powers is a change to ``PERMISSIONS`` and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("owner", "admin", "member")
EVERYONE = frozenset(ROLES)
MANAGERS = frozenset({"owner", "admin"})


@dataclass(frozen=True)
class Permission:
    """One action, what it does, and the roles allowed to do it."""

    action: str
    does: str
    roles: frozenset[str]


_TABLE = (
    # Leads
    Permission("lead.view", "See leads: the table, search, detail, insights, filter options", EVERYONE),
    Permission("lead.edit", "Change a lead's status, owner, tags and notes (one or in bulk)", EVERYONE),
    Permission("lead.rescore", "Re-score leads", EVERYONE),
    Permission("lead.recrawl", "Re-crawl leads' websites", EVERYONE),
    Permission("lead.import", "Import leads from a CSV file", EVERYONE),
    Permission("lead.export", "Export leads as CSV", EVERYONE),
    Permission("lead.delete", "Move leads to the trash (restorable for 30 days)", MANAGERS),
    Permission("lead.merge", "Merge duplicate leads (cannot be undone)", MANAGERS),
    Permission("lead.trash", "See the trash and restore leads from it", MANAGERS),
    # Campaigns and runs
    Permission("campaign.view", "See campaigns, strategies and runs", EVERYONE),
    Permission("campaign.edit", "Create a campaign, save or approve a strategy version", EVERYONE),
    Permission("run.start", "Start a run (search and crawl) for a campaign", EVERYONE),
    Permission("run.cancel", "Cancel a run", EVERYONE),
    Permission("site.analyse", "Analyse one website (a one-off crawl; no lead is stored), see or cancel it", EVERYONE),
    # Outreach
    Permission("outreach.view", "See templates, drafts and the message log", EVERYONE),
    Permission("outreach.draft", "Save templates, preview and write drafts (AI included)", EVERYONE),
    Permission("outreach.send", "Approve, queue and send messages", EVERYONE),
    Permission(
        "outreach.log", "Mark a message replied, resolve an unknown outcome, queue a failed one again", EVERYONE
    ),
    Permission("outreach.settings", "Change the sending settings (sender, window, caps, postal address)", MANAGERS),
    Permission("suppression.add", "Suppress an address (never contact it again)", EVERYONE),
    Permission("suppression.remove", "Lift a suppression", MANAGERS),
    Permission("consent.record", "Record SMS consent for a contact", EVERYONE),
    Permission("reply.view", "See replies in the Inbox", EVERYONE),
    Permission(
        "reply.act",
        "Change a reply's class, act on it (meeting, not interested, do not contact), answer it, read the mailbox",
        EVERYONE,
    ),
    # Sequences
    Permission("sequence.view", "See sequences, their steps, enrolled contacts and the per-step funnel", EVERYONE),
    Permission("sequence.edit", "Create and edit sequences and their steps, pause or resume a sequence", EVERYONE),
    Permission("sequence.enrol", "Enrol leads in a sequence, pause, resume or take out one contact", EVERYONE),
    # Team and access
    Permission("team.view", "See the workspace's members", EVERYONE),
    Permission("team.manage", "Invite and remove members, change roles (owners only for owner changes)", MANAGERS),
    Permission("apikey.manage", "Create, list and revoke API keys", MANAGERS),
    Permission(
        "webhook.manage", "Register, change and delete webhook endpoints; see their deliveries, redeliver", MANAGERS
    ),
    # System
    Permission("job.manage", "Cancel or retry the workspace's jobs", EVERYONE),
    Permission("system.details", "See server details: database URL/path, Redis, queues, workers, size", MANAGERS),
    Permission("system.rq", "Requeue or delete failed RQ jobs", MANAGERS),
)

PERMISSIONS: dict[str, Permission] = {p.action: p for p in _TABLE}


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action``; ``KeyError`` for an action missing from the table."""
    return role in PERMISSIONS[action].roles


def table_markdown() -> str:
    """The table as Markdown, one row per action, as docs/permissions.md shows it."""
    lines = ["| Action | What it does | " + " | ".join(ROLES) + " |", "|---|---|" + "---|" * len(ROLES)]
    for p in _TABLE:
        marks = " | ".join("yes" if role in p.roles else "no" for role in ROLES)
        lines.append(f"| `{p.action}` | {p.does} | {marks} |")
    return "\n".join(lines) + "\n"
