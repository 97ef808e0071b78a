"""The moderation may hide a post's earlier versions from its readers (a beneficiary's name
edited out stays in the history otherwise); the versions are kept, and the staff read them.

Revision ID: c8a2f5e1d937
Revises: b4e1d7a9c260
Create Date: 2026-12-06 14:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c8a2f5e1d937"
down_revision = "b4e1d7a9c260"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("post_revisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hidden_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_post_revisions_hidden_by_id_members"), "members", ["hidden_by_id"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_post_revisions_hidden_by_id"), ["hidden_by_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("post_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_revisions_hidden_by_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_post_revisions_hidden_by_id_members"), type_="foreignkey"
        )
        batch_op.drop_column("hidden_by_id")
        batch_op.drop_column("hidden_at")
