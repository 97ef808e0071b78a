"""Index for the announcements shown above the index (a handful among all topics).

Revision ID: 7c2d9e4f1b08
Revises: 5b1e2f0c9a71
Create Date: 2026-11-23 14:30:00

"""
from alembic import op

revision = "7c2d9e4f1b08"
down_revision = "5b1e2f0c9a71"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_topics_announcement", ["is_announcement", "last_post_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_index("ix_topics_announcement")
