"""The members' directory (« Membres ») is read in name order, a page at a time: an index
on (display_name, id) gives that order without sorting every member, and pages that
stay the same between two requests when names are alike.

Revision ID: f1c8d3a5b720
Revises: c5f1a8e2d937
Create Date: 2026-12-07 09:00:00

"""

from alembic import op

revision = "f1c8d3a5b720"
down_revision = "c5f1a8e2d937"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("members") as batch_op:
        batch_op.create_index("ix_members_directory", ["display_name", "id"])


def downgrade():
    with op.batch_alter_table("members") as batch_op:
        batch_op.drop_index("ix_members_directory")
