"""Indexes for /outils, so that a page of the tool library reads its rows, not every file.

The library lists files newest first, of every type or of one: (created_at, id) and
(family, created_at, id) give that order, so a page walks the index and stops at its last
row instead of sorting every file (the second replaces the index on family alone).

Revision ID: 0b6e2d4f8a13
Revises: f1a3c5e7b902
Create Date: 2026-12-07 09:10:00

"""

from alembic import op

revision = "0b6e2d4f8a13"
down_revision = "f1a3c5e7b902"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_attachments_family")
        batch_op.create_index("ix_attachments_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_attachments_family_created", ["family", "created_at", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_attachments_family_created")
        batch_op.drop_index("ix_attachments_created")
        batch_op.create_index("ix_attachments_family", ["family"], unique=False)
