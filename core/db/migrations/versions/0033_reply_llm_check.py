"""reply: when the LLM read a person's answer that rules classified (llm_checked_at); the mail's own
Message-ID as written (message_id_header) and our answer from the Inbox (answer_message_id)

Revision ID: 0033_reply_llm_check
Revises: 0032_contact_address_index
Create Date: 2026-12-06 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.models.base

revision: str = "0033_reply_llm_check"
down_revision: str | None = "0032_contact_address_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reply") as batch:
        batch.add_column(sa.Column("llm_checked_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("message_id_header", sa.String(length=512), nullable=False, server_default=""))
        batch.add_column(sa.Column("answer_message_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_reply_answer_message_id_message", "message", ["answer_message_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("reply") as batch:
        batch.drop_constraint("fk_reply_answer_message_id_message", type_="foreignkey")
        batch.drop_column("answer_message_id")
        batch.drop_column("message_id_header")
        batch.drop_column("llm_checked_at")
