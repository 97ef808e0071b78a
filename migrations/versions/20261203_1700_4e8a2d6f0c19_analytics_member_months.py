"""The comité's member figures read admissions and departures kept per Paris month.

`analytics_member_months` holds, per (month, statut, network), the members admitted and gone
(`analytics.member_months` keeps it with every flush that changes a member); it is filled
here from the members. The partial months at a period's edges are counted through two new
indexes (when a member was admitted, when they left); the covering index that every report
used to read whole is no longer read by one.

Revision ID: 4e8a2d6f0c19
Revises: 6c1e8f3a9b27
Create Date: 2026-12-03 17:00:00

"""

from collections import Counter
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "4e8a2d6f0c19"
down_revision = "6c1e8f3a9b27"
branch_labels = None
depends_on = None

PARIS = ZoneInfo("Europe/Paris")
MEMBERS = sa.table(
    "members",
    sa.column("registration_status", sa.String),
    sa.column("state", sa.String),
    sa.column("statut", sa.String),
    sa.column("network_id", sa.Integer),
    sa.column("decided_at", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("left_at", sa.DateTime(timezone=True)),
)


def _month(when):
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(PARIS)
    return f"{local.year:04d}-{local.month:02d}"


def upgrade():
    counts = op.create_table(
        "analytics_member_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("statut", sa.String(length=10), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("departed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "statut", "network_id", name=op.f("pk_analytics_member_months")
        ),
    )
    op.create_index("ix_members_joined", "members", ["decided_at", "created_at"])
    op.create_index(op.f("ix_members_left_at"), "members", ["left_at"])
    op.drop_index("ix_members_admission", table_name="members")

    m = MEMBERS.c
    rows = op.get_bind().execute(
        sa.select(m.statut, m.network_id, m.decided_at, m.created_at, m.left_at).where(
            m.registration_status == "approved", m.state.in_(("active", "suspended", "left"))
        )
    )
    joined, departed = Counter(), Counter()
    for statut, network_id, decided_at, created_at, left_at in rows:
        joined[(_month(decided_at or created_at), statut, network_id or 0)] += 1
        if left_at is not None:
            departed[(_month(left_at), statut, network_id or 0)] += 1
    keys = sorted(set(joined) | set(departed))
    if keys:
        op.bulk_insert(
            counts,
            [
                {
                    "month": month,
                    "statut": statut,
                    "network_id": network_id,
                    "joined": joined[(month, statut, network_id)],
                    "departed": departed[(month, statut, network_id)],
                }
                for month, statut, network_id in keys
            ],
        )


def downgrade():
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
    op.drop_index(op.f("ix_members_left_at"), table_name="members")
    op.drop_index("ix_members_joined", table_name="members")
    op.drop_table("analytics_member_months")
