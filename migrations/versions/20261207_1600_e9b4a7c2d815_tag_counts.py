"""Mots-clés pages cost the same whatever the forum: each topic_tags row keeps its topic's
last_post_at, indexed as (tag_id, last_post_at, topic_id) so that a mot-clé's page reads its
topics in order without a sort; and tag_category_counts keeps, per (mot-clé, rubrique),
the visible and hidden topics, summed by /mots-cles and a mot-clé's pager. Both are
filled from the existing rows.

Revision ID: e9b4a7c2d815
Revises: b2e7d4a1c936
Create Date: 2026-12-07 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e9b4a7c2d815"
down_revision = "b2e7d4a1c936"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("topic_tags") as batch_op:
        batch_op.add_column(sa.Column("last_post_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE topic_tags SET last_post_at = "
        "(SELECT topics.last_post_at FROM topics WHERE topics.id = topic_tags.topic_id)"
    )
    with op.batch_alter_table("topic_tags") as batch_op:
        batch_op.alter_column(
            "last_post_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.drop_index("ix_topic_tags_tag_id")
        batch_op.create_index(
            "ix_topic_tags_tag_activity", ["tag_id", "last_post_at", "topic_id"], unique=False
        )

    op.create_table(
        "tag_category_counts",
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("topic_count", sa.Integer(), nullable=False),
        sa.Column("hidden_topic_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_tag_category_counts_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["tags.id"],
            name=op.f("fk_tag_category_counts_tag_id_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tag_id", "category_id", name=op.f("pk_tag_category_counts")),
    )
    with op.batch_alter_table("tag_category_counts") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tag_category_counts_category_id"), ["category_id"], unique=False
        )
    # The same definition as `forum.services.tag_count_rows`.
    op.execute(
        "INSERT INTO tag_category_counts (tag_id, category_id, topic_count, hidden_topic_count) "
        "SELECT topic_tags.tag_id, topics.category_id, "
        "SUM(CASE WHEN topics.is_hidden THEN 0 ELSE 1 END), "
        "SUM(CASE WHEN topics.is_hidden THEN 1 ELSE 0 END) "
        "FROM topic_tags JOIN topics ON topics.id = topic_tags.topic_id "
        "GROUP BY topic_tags.tag_id, topics.category_id"
    )


def downgrade():
    with op.batch_alter_table("tag_category_counts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_tag_category_counts_category_id"))
    op.drop_table("tag_category_counts")
    with op.batch_alter_table("topic_tags") as batch_op:
        batch_op.drop_index("ix_topic_tags_tag_activity")
        batch_op.create_index("ix_topic_tags_tag_id", ["tag_id"], unique=False)
        batch_op.drop_column("last_post_at")
