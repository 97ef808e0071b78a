"""Per member and rubrique counts of topics and posts (profiles stay cheap at any size).

Revision ID: 9d41c7a2e5b3
Revises: 7c2d9e4f1b08
Create Date: 2026-12-02 02:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "9d41c7a2e5b3"
down_revision = "7c2d9e4f1b08"
branch_labels = None
depends_on = None

# The same definition as comcep.forum.services.member_stats_rows: a post is hidden when it
# or its topic is; a topic counts once, by its opening post.
BACKFILL = """
INSERT INTO member_category_stats
    (member_id, category_id, topic_count, post_count, hidden_topic_count, hidden_post_count)
SELECT posts.author_id, topics.category_id,
    SUM(CASE WHEN posts.number = 1 AND NOT (posts.is_hidden OR topics.is_hidden)
        THEN 1 ELSE 0 END),
    SUM(CASE WHEN NOT (posts.is_hidden OR topics.is_hidden) THEN 1 ELSE 0 END),
    SUM(CASE WHEN posts.number = 1 AND (posts.is_hidden OR topics.is_hidden) THEN 1 ELSE 0 END),
    SUM(CASE WHEN posts.is_hidden OR topics.is_hidden THEN 1 ELSE 0 END)
FROM posts JOIN topics ON topics.id = posts.topic_id
WHERE posts.author_id IS NOT NULL
GROUP BY posts.author_id, topics.category_id
"""


def upgrade():
    op.create_table(
        "member_category_stats",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("topic_count", sa.Integer(), nullable=False),
        sa.Column("post_count", sa.Integer(), nullable=False),
        sa.Column("hidden_topic_count", sa.Integer(), nullable=False),
        sa.Column("hidden_post_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_member_category_stats_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_category_stats_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "category_id", name=op.f("pk_member_category_stats")),
    )
    with op.batch_alter_table("member_category_stats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_category_stats_category_id"), ["category_id"], unique=False
        )
    op.execute(BACKFILL)


def downgrade():
    with op.batch_alter_table("member_category_stats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_category_stats_category_id"))
    op.drop_table("member_category_stats")
