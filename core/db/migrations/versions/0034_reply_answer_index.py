"""reply: an index by the answer written from the Inbox, so the sender tells answers from outreach per
message without reading every reply (and deleting a message finds the reply it answered)

Revision ID: 0034_reply_answer_index
Revises: 0033_reply_llm_check
Create Date: 2026-12-06 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034_reply_answer_index"
down_revision: str | None = "0033_reply_llm_check"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reply_answer_message_id", "reply", ["answer_message_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reply_answer_message_id", table_name="reply")
