"""supabase session tokens on auth_session

Revision ID: 0005_supabase
Revises: 0004_runs
Create Date: 2026-11-26 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.models.base

revision: str = "0005_supabase"
down_revision: str | None = "0004_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_access_token", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("provider_expires_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.drop_column("provider_expires_at")
        batch_op.drop_column("provider_access_token")
