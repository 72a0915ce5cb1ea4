"""address checks: a contact's verification reasons and time; the bounce guard's sender pauses

Revision ID: 0023_address_checks
Revises: 0025_lead_location
Create Date: 2026-12-05 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.db.models.base

revision: str = "0023_address_checks"
down_revision: str | None = "0025_lead_location"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "verification_reasons",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )
        batch_op.add_column(sa.Column("verified_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "sender_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("paused_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("counted_from", core.db.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resumed_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resumed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resumed_by"],
            ["user_account.id"],
            name=op.f("fk_sender_pause_resumed_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_sender_pause_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_pause")),
        sa.UniqueConstraint(
            "workspace_id", "channel", "provider", name=op.f("uq_sender_pause_workspace_id_channel_provider")
        ),
    )


def downgrade() -> None:
    op.drop_table("sender_pause")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verification_reasons")
