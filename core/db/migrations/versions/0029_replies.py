"""replies and mailbox cursors: mail and texts that came back, and how far each IMAP folder was read

Revision ID: 0029_replies
Revises: 0022_job_retry_and_site_steps
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.models.base

revision: str = "0029_replies"
down_revision: str | None = "0022_job_retry_and_site_steps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mailbox_cursor",
        sa.Column("mailbox", sa.String(length=400), nullable=False),
        sa.Column("uidvalidity", sa.Integer(), nullable=False),
        sa.Column("last_uid", sa.Integer(), nullable=False),
        sa.Column("updated_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_mailbox_cursor")),
    )
    op.create_table(
        "reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_key", sa.String(length=512), nullable=False),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("from_name", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("full_body", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("label_source", sa.String(length=8), nullable=False),
        sa.Column("label_reason", sa.String(length=300), nullable=False),
        sa.Column("bounce_recipient", sa.String(length=320), nullable=False),
        sa.Column("bounce_status", sa.String(length=16), nullable=False),
        sa.Column("received_at", core.db.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_reply_contact_id_contact"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], name=op.f("fk_reply_lead_id_lead"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.id"], name=op.f("fk_reply_message_id_message"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_reply_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply")),
        sa.UniqueConstraint("source_key", name=op.f("uq_reply_source_key")),
    )
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reply_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reply_message_id"), ["message_id"], unique=False)
        batch_op.create_index("ix_reply_workspace_id_received_at", ["workspace_id", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_workspace_id_received_at")
        batch_op.drop_index(batch_op.f("ix_reply_message_id"))
        batch_op.drop_index(batch_op.f("ix_reply_lead_id"))

    op.drop_table("reply")
    op.drop_table("mailbox_cursor")
