"""A partial index on the posts awaiting pre-moderation.

The staff's header counts them on every page, with the open reports: a scan of a million
posts for the few pending would cost each of the staff's pages; the index holds only those.

Revision ID: 6b1d3f8e2a95
Revises: 7c1e5a9d3b28
Create Date: 2026-12-06 10:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "6b1d3f8e2a95"
down_revision = "7c1e5a9d3b28"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_posts_pending",
        "posts",
        ["topic_id"],
        unique=False,
        sqlite_where=sa.text("is_pending = 1"),
        postgresql_where=sa.text("is_pending"),
    )


def downgrade():
    op.drop_index("ix_posts_pending", table_name="posts")
