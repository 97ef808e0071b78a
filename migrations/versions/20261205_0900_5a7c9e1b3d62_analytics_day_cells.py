"""The comité's kept cells also hold the settled days of the month not yet settled.

A report counted the current month's posts so far at every visit (at a million posts, 7 ms
on the 4th of the month and five times as much on the 28th). Its settled days are now kept
like months, under 'YYYY-MM-DD', valid while their month's generation is the one they were
counted for (`comcep.analytics.rollups`): the key columns widen from 7 to 10 characters.
Nothing is counted here; the next report or `comcep analytics refresh` keeps them.

Revision ID: 5a7c9e1b3d62
Revises: 9d3f6b2a7c41
Create Date: 2026-12-05 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "5a7c9e1b3d62"
down_revision = "9d3f6b2a7c41"
branch_labels = None
depends_on = None

TABLES = ("analytics_months", "analytics_month_cells")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("month", existing_type=sa.String(7), type_=sa.String(10))


def downgrade():
    for table in TABLES:  # days do not fit the narrower key; they are only a cache
        op.execute(sa.text(f"DELETE FROM {table} WHERE length(month) > 7"))
        with op.batch_alter_table(table) as batch:
            batch.alter_column("month", existing_type=sa.String(10), type_=sa.String(7))
