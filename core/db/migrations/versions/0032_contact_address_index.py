"""contact: an index by address (normalised value, kind) for matching replies, unsubscribes and inbound SMS

Revision ID: 0032_contact_address_index
Revises: 0030_sequences
Create Date: 2026-12-06 07:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032_contact_address_index"
down_revision: str | None = "0030_sequences"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_contact_address", "contact", ["normalised_value", "kind"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_contact_address", table_name="contact")
