"""outreach sending performance: indexes for the batch claim and the daily-cap count

Revision ID: 0007_outreach_perf
Revises: 0005_supabase
Create Date: 2026-11-26 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_outreach_perf"
down_revision: str | None = "0005_supabase"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_workspace_status_id", ["workspace_id", "status", "id"], unique=False)
        batch_op.create_index(
            "ix_message_workspace_status_sent_at", ["workspace_id", "status", "sent_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_workspace_status_sent_at")
        batch_op.drop_index("ix_message_workspace_status_id")
