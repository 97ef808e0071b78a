"""A participant may leave a conversation: their row stays (who took part is kept), marked
with the date they left.

Revision ID: b4e1d7a9c260
Revises: f743b57cebd0
Create Date: 2026-12-06 13:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b4e1d7a9c260"
down_revision = "f743b57cebd0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversation_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("conversation_members", schema=None) as batch_op:
        batch_op.drop_column("left_at")
