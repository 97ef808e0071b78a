"""An index covering what the comité's member figures read of each member.

Revision ID: 2b7e4c9d1a53
Revises: 9d3f6a2c8e17
Create Date: 2026-12-03 06:00:00

"""

from alembic import op

revision = "2b7e4c9d1a53"
down_revision = "9d3f6a2c8e17"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_members_admission",
        "members",
        [
            "network_id",
            "registration_status",
            "state",
            "statut",
            "decided_at",
            "created_at",
            "left_at",
        ],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_members_admission", table_name="members")
