"""Each participant of a conversation keeps the latest message e-mailed to them at once, so
that a retry after an SMTP failure on another participant does not e-mail it again.

Revision ID: b2e7d4a1c936
Revises: f1c8d3a5b720
Create Date: 2026-12-07 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b2e7d4a1c936"
down_revision = "f1c8d3a5b720"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversation_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emailed_up_to", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("conversation_members", schema=None) as batch_op:
        batch_op.drop_column("emailed_up_to")
