"""Partial indexes for the topic lists' filters, « sans réponse » and « non résolus »: in a
rubrique's order and in the forum's activity order. A filtered page and its (capped) count
read the topics the filter keeps, instead of every topic of the rubrique or of the forum.
The index of the réponse retenue keeps the solved topics only: holding the unsolved ones,
it tempted SQLite to fetch every one of them and sort, for « non résolus ».

Revision ID: f1c3b8d2e640
Revises: 0b6e2d4f8a13
Create Date: 2026-12-07 12:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f1c3b8d2e640"
down_revision = "0b6e2d4f8a13"
branch_labels = None
depends_on = None

# As `models._filter_indexes` is today: a migration keeps its own copy.
FILTERS = {"unanswered": "post_count <= 1", "unsolved": "solution_post_id IS NULL"}
ORDERS = {
    "_category": ["category_id", "is_pinned", "last_post_at"],
    "_activity": ["last_post_at"],
}


def upgrade():
    op.drop_index("ix_topics_solution_post_id", table_name="topics")
    op.create_index(
        "ix_topics_solution_post_id",
        "topics",
        ["solution_post_id"],
        unique=False,
        sqlite_where=sa.text("solution_post_id IS NOT NULL"),
        postgresql_where=sa.text("solution_post_id IS NOT NULL"),
    )
    for name, condition in FILTERS.items():
        for suffix, columns in ORDERS.items():
            op.create_index(
                f"ix_topics_{name}{suffix}",
                "topics",
                columns,
                unique=False,
                sqlite_where=sa.text(condition),
                postgresql_where=sa.text(condition),
            )


def downgrade():
    for name in FILTERS:
        for suffix in ORDERS:
            op.drop_index(f"ix_topics_{name}{suffix}", table_name="topics")
    op.drop_index("ix_topics_solution_post_id", table_name="topics")
    op.create_index("ix_topics_solution_post_id", "topics", ["solution_post_id"], unique=False)
