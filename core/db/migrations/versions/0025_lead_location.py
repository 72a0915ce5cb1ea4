"""lead location: lead.city (with country, read from each lead's address), and ids never reused on SQLite

Revision ID: 0025_lead_location
Revises: 0024_webhooks
Create Date: 2026-12-06 03:10:00

- ``lead.city`` and an index on (workspace_id, country, city) for the filter and the Insights charts. Existing
  leads get their city, and their country where it was empty, from ``lead.location`` (the address), as
  extraction and the CSV import now do for new ones.
- SQLite: ``lead``, ``contact`` and ``job`` become AUTOINCREMENT tables, so the id of a deleted or merged lead is
  never handed to a new one (audit entries name leads by id). The tables are rebuilt (env.py runs SQLite
  migrations with foreign keys off, so dropping the old table cascades nowhere); the id counter starts past the
  highest id the table or the audit log has seen. PostgreSQL's sequences never reuse an id: nothing to do there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.extract.location import split_location

revision: str = "0025_lead_location"
down_revision: str | None = "0024_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTOINCREMENT_TABLES = ("lead", "contact", "job")
_BATCH = 5000


def _backfill_location() -> None:
    bind = op.get_bind()
    lead = sa.table("lead", sa.column("id"), sa.column("location"), sa.column("country"), sa.column("city"))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(lead.c.id, lead.c.location, lead.c.country)
            .where(lead.c.id > last, lead.c.location != "")
            .order_by(lead.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        changes = []
        for lead_id, location, country in rows:
            found_country, city = split_location(location or "", country or "")
            if city or (found_country and not country):
                changes.append({"lead_id": lead_id, "new_city": city, "new_country": country or found_country})
        if changes:
            bind.execute(
                lead.update()
                .where(lead.c.id == sa.bindparam("lead_id"))
                .values(city=sa.bindparam("new_city"), country=sa.bindparam("new_country")),
                changes,
            )


def _start_counters_past_audited_ids() -> None:
    bind = op.get_bind()
    for table in AUTOINCREMENT_TABLES:
        highest = [
            bind.execute(sa.text(f"SELECT MAX(id) FROM {table}")).scalar(),  # noqa: S608 - a fixed table name
            bind.execute(
                sa.text("SELECT MAX(target_id) FROM audit_event WHERE target_type = :t"), {"t": table}
            ).scalar(),
        ]
        if table == "lead":  # a merge names the merged (deleted) lead in its detail
            highest.append(
                bind.execute(
                    sa.text(
                        "SELECT MAX(CAST(json_extract(detail, '$.merged_id') AS INTEGER)) FROM audit_event "
                        "WHERE action = 'lead.merged'"
                    )
                ).scalar()
            )
        top = max((int(v) for v in highest if v is not None), default=0)
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)"), {"t": table, "s": top})


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # One rebuild of each table on SQLite (the new column rides along); plain ALTERs elsewhere.
    with op.batch_alter_table(
        "lead",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch_op:
        batch_op.add_column(sa.Column("city", sa.String(length=120), nullable=False, server_default=""))
        batch_op.create_index("ix_lead_workspace_country_city", ["workspace_id", "country", "city"], unique=False)
    if sqlite:
        for table in AUTOINCREMENT_TABLES[1:]:
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass
        _start_counters_past_audited_ids()
    _backfill_location()


def downgrade() -> None:
    # The SQLite tables stay AUTOINCREMENT: ids that are never reused suit every earlier revision too.
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_workspace_country_city")
        batch_op.drop_column("city")
