"""A partial index on the open reports, so that the moderation queue reads what waits.

The queue lists the open reports oldest first, and SQLite, told by the statistics that
« open » is half of the reports (two values in the status column), scanned the reports
table, which keeps every closed report for good.

Revision ID: f1a3c5e7b902
Revises: a7d2c9e4f186
Create Date: 2026-12-07 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f1a3c5e7b902"
down_revision = "a7d2c9e4f186"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_reports_open",
        "reports",
        ["created_at"],
        unique=False,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade():
    op.drop_index("ix_reports_open", table_name="reports")
