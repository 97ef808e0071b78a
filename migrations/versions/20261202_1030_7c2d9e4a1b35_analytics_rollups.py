"""First reply kept on topics; the comité's monthly tallies kept between requests.

Revision ID: 7c2d9e4a1b35
Revises: 4e8b1c6d2f90
Create Date: 2026-12-02 10:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7c2d9e4a1b35"
down_revision = "4e8b1c6d2f90"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_reply_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_reply_author_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("first_reply_cross_network", sa.Boolean(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_topics_first_reply_author_id_members"),
            "members",
            ["first_reply_author_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_topics_first_reply_author_id"), ["first_reply_author_id"], unique=False
        )
        batch_op.create_index("ix_topics_created", ["created_at"], unique=False)
    op.create_table(
        "analytics_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("computed_generation", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_analytics_months")),
    )
    op.create_table(
        "analytics_month_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("extra", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("sample", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_month_cells")),
    )
    op.create_index(
        op.f("ix_analytics_month_cells_month"), "analytics_month_cells", ["month"], unique=False
    )
    # Backfill, by the definition of comcep.forum.services.first_reply_columns.
    first = """(SELECT p.{column} FROM posts p
        WHERE p.topic_id = topics.id AND p.number > 1 AND NOT p.is_hidden
          AND p.created_at >= topics.created_at
          AND (topics.author_id IS NULL OR p.author_id IS NULL
               OR p.author_id != topics.author_id)
        ORDER BY p.created_at, p.number LIMIT 1)"""
    op.execute(
        f"UPDATE topics SET first_reply_at = {first.format(column='created_at')},"
        f" first_reply_author_id = {first.format(column='author_id')}"
    )
    op.execute(
        """
        UPDATE topics SET first_reply_cross_network = (
          SELECT asker.network_id != replier.network_id
          FROM members asker, members replier
          WHERE asker.id = topics.author_id AND replier.id = topics.first_reply_author_id
            AND asker.network_id IS NOT NULL AND replier.network_id IS NOT NULL)
        WHERE first_reply_author_id IS NOT NULL
        """
    )


def downgrade():
    op.drop_index(op.f("ix_analytics_month_cells_month"), table_name="analytics_month_cells")
    op.drop_table("analytics_month_cells")
    op.drop_table("analytics_months")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_index("ix_topics_created")
        batch_op.drop_index(batch_op.f("ix_topics_first_reply_author_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_topics_first_reply_author_id_members"), type_="foreignkey"
        )
        batch_op.drop_column("first_reply_cross_network")
        batch_op.drop_column("first_reply_author_id")
        batch_op.drop_column("first_reply_at")
