"""send attempts: when a claimed message's provider call began (none: the claim may go back to the queue)

Revision ID: 0010_send_attempts
Revises: 0009_periodic_slot
Create Date: 2026-12-05 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.models.base

revision: str = "0010_send_attempts"
down_revision: str | None = "0009_periodic_slot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("attempt_started_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("attempt_started_at")
