"""« Merci » on posts (Discourse's like): one row per member and post, and the post's count
kept on its row so that a topic page reads it with the post.

Revision ID: d3a9e6b1f402
Revises: c8a2f5e1d937
Create Date: 2026-12-06 17:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d3a9e6b1f402"
down_revision = "c8a2f5e1d937"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "post_thanks",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_post_thanks_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_thanks_post_id_posts")
        ),
        sa.PrimaryKeyConstraint("post_id", "member_id", name=op.f("pk_post_thanks")),
    )
    with op.batch_alter_table("post_thanks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_thanks_member_id"), ["member_id"], unique=False)
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("thanks_count", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("thanks_count")
    with op.batch_alter_table("post_thanks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_thanks_member_id"))
    op.drop_table("post_thanks")
