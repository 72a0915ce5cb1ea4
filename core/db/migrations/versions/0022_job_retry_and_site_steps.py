"""job.retry_at (when a retrying job's next attempt starts) and run_site.step (the last step a site finished)

Revision ID: 0022_job_retry_and_site_steps
Revises: 0021_contact_consent
Create Date: 2026-12-05 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.models.base

revision: str = "0022_job_retry_and_site_steps"
down_revision: str | None = "0021_contact_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_at", core.db.models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("run_site", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step", sa.String(length=12), nullable=False, server_default=""))
    # sites crawled before this revision were stored (scored or not is unknown: treat them as done)
    op.execute("UPDATE run_site SET step = 'summarised' WHERE status = 'crawled'")


def downgrade() -> None:
    with op.batch_alter_table("run_site", schema=None) as batch_op:
        batch_op.drop_column("step")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("retry_at")
