"""reply: when the LLM read a person's answer that rules classified (llm_checked_at)

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


def downgrade() -> None:
    with op.batch_alter_table("reply") as batch:
        batch.drop_column("llm_checked_at")
