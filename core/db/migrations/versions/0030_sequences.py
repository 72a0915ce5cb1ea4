"""sequences: steps of outreach, enrolments, and the thread of a sequence's messages

Revision ID: 0030_sequences
Revises: 0023_address_checks
Create Date: 2026-12-06 06:14:27.271606
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.db.models.base

revision: str = "0030_sequences"
down_revision: str | None = "0023_address_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sequence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column(
            "stop_statuses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", core.db.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", core.db.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_sequence_campaign_id_campaign"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_sequence_created_by_user_account"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_sequence_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequence")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_sequence_workspace_id_name")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("sequence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sequence_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "enrollment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("next_position", sa.Integer(), nullable=True),
        sa.Column("next_due_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_message_id", sa.Integer(), nullable=True),
        sa.Column("enrolled_by", sa.Integer(), nullable=True),
        sa.Column("ended_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolled_by"],
            ["user_account.id"],
            name=op.f("fk_enrollment_enrolled_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["last_message_id"], ["message.id"], name=op.f("fk_enrollment_last_message_id_message"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], name=op.f("fk_enrollment_lead_id_lead"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["sequence_id"], ["sequence.id"], name=op.f("fk_enrollment_sequence_id_sequence"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_enrollment_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment")),
        sa.UniqueConstraint("sequence_id", "lead_id", name=op.f("uq_enrollment_sequence_id_lead_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrollment_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_enrollment_status_next_due_at", ["status", "next_due_at"], unique=False)

    op.create_table(
        "sequence_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("use_ai", sa.Boolean(), nullable=False),
        sa.Column("delay_days", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["sequence_id"], ["sequence.id"], name=op.f("fk_sequence_step_sequence_id_sequence"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["template.id"], name=op.f("fk_sequence_step_template_id_template"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequence_step")),
        sa.UniqueConstraint("sequence_id", "position", name=op.f("uq_sequence_step_sequence_id_position")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrollment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("in_reply_to", sa.String(length=255), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("thread_references", sa.Text(), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_message_enrollment_id"), ["enrollment_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_message_enrollment_id_enrollment"),
            "enrollment",
            ["enrollment_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_message_enrollment_id_enrollment"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_message_enrollment_id"))
        batch_op.drop_column("thread_references")
        batch_op.drop_column("in_reply_to")
        batch_op.drop_column("enrollment_id")

    op.drop_table("sequence_step")
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollment_status_next_due_at")
        batch_op.drop_index(batch_op.f("ix_enrollment_lead_id"))

    op.drop_table("enrollment")
    with op.batch_alter_table("sequence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sequence_workspace_id"))

    op.drop_table("sequence")
