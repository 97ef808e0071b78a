"""Notes by the moderation between a topic's posts (a split says where its messages went
and where they came from), kept apart from the posts so that no counter counts them.

Revision ID: 3f9a7c2e5b14
Revises: 6b1d3f8e2a95
Create Date: 2026-12-06 10:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "3f9a7c2e5b14"
down_revision = "6b1d3f8e2a95"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "topic_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("after_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("other_topic_id", sa.Integer(), nullable=True),
        sa.Column("post_count", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["members.id"], name=op.f("fk_topic_events_actor_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["other_topic_id"], ["topics.id"], name=op.f("fk_topic_events_other_topic_id_topics")
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_topic_events_topic_id_topics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_events")),
    )
    op.create_index(
        "ix_topic_events_topic_after", "topic_events", ["topic_id", "after_number"], unique=False
    )
    op.create_index(
        op.f("ix_topic_events_other_topic_id"), "topic_events", ["other_topic_id"], unique=False
    )
    op.create_index(op.f("ix_topic_events_actor_id"), "topic_events", ["actor_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_topic_events_actor_id"), table_name="topic_events")
    op.drop_index(op.f("ix_topic_events_other_topic_id"), table_name="topic_events")
    op.drop_index("ix_topic_events_topic_after", table_name="topic_events")
    op.drop_table("topic_events")
