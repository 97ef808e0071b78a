"""The header's counts and the notifications page bounded: an unread flag kept on each
participant's row of a conversation (filled from the dates it stands for), indexed with the
member, and the members' notifications indexed by id.

Revision ID: c5f1a8e2d937
Revises: f1c3b8d2e640
Create Date: 2026-12-07 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c5f1a8e2d937"
down_revision = "f1c3b8d2e640"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversation_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unread", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    members = sa.table(
        "conversation_members",
        sa.column("conversation_id", sa.Integer),
        sa.column("last_read_at", sa.DateTime(timezone=True)),
        sa.column("unread", sa.Boolean),
    )
    conversations = sa.table(
        "conversations",
        sa.column("id", sa.Integer),
        sa.column("last_message_at", sa.DateTime(timezone=True)),
    )
    # What the header counted until now: no reading yet, or a message since the last one.
    newer = (
        sa.select(conversations.c.id)
        .where(
            conversations.c.id == members.c.conversation_id,
            conversations.c.last_message_at > members.c.last_read_at,
        )
        .exists()
    )
    op.execute(members.update().values(unread=sa.or_(members.c.last_read_at.is_(None), newer)))
    with op.batch_alter_table("conversation_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversation_members_unread", ["member_id", "unread", "left_at"], unique=False
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_member", ["member_id", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_member")
    with op.batch_alter_table("conversation_members", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_members_unread")
        batch_op.drop_column("unread")
