"""Networks that no longer exist (Fongecif et Opacif, SPEC §3) are inactive: closed to new
registrations and invitations, kept for their members and the analyses.

Revision ID: 30b536782590
Revises: 9d41c7a2e5b3
Create Date: 2026-12-02 05:05:00

"""
import sqlalchemy as sa
from alembic import op

revision = "30b536782590"
down_revision = "9d41c7a2e5b3"
branch_labels = None
depends_on = None

HISTORICAL = ("fongecif-opacif",)

networks = sa.table("networks", sa.column("code", sa.String), sa.column("active", sa.Boolean))


def upgrade():
    op.execute(networks.update().where(networks.c.code.in_(HISTORICAL)).values(active=False))


def downgrade():
    op.execute(networks.update().where(networks.c.code.in_(HISTORICAL)).values(active=True))
