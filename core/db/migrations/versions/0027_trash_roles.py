"""trash: a deleted lead is kept (deleted_at, deleted_by) and restorable for 30 days

Revision ID: 0027_trash_roles
Revises: 0029_replies
Create Date: 2026-12-06 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.db.models.base import UTCDateTime

revision: str = "0027_trash_roles"
down_revision: str | None = "0029_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("deleted_by", sa.Integer(), nullable=True))
    op.create_index("ix_lead_workspace_deleted", "lead", ["workspace_id", "deleted_at"])


def downgrade() -> None:
    op.drop_index("ix_lead_workspace_deleted", table_name="lead")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("deleted_by")
        batch_op.drop_column("deleted_at")
