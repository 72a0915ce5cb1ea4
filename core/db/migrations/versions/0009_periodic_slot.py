"""periodic jobs: one row per periodic job saying when it is next due, claimed by whichever process ticks first

Revision ID: 0009_periodic_slot
Revises: 0008_send_quota
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.models.base

revision: str = "0009_periodic_slot"
down_revision: str | None = "0008_send_quota"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "periodic_slot",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_due_at", core.db.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_slot")),
    )


def downgrade() -> None:
    op.drop_table("periodic_slot")
