"""A member who accepted an invitation is admitted when they accepted it: members.decided_at.

The comité's figures count a member from `decided_at`, or `created_at` without one; an
invitation's acceptance set none, so an invited member counted from the invitation, before
being a member (and the month-ends already read grew when they accepted). `accept_invitation`
sets it now; here, each invited member admitted without a decision gets their latest
invitation's acceptance date, and the admissions kept per month (`analytics_member_months`)
are counted again from the members.

Revision ID: c5f2a8d3e614
Revises: a7d3e9f1c482
Create Date: 2026-12-07 18:00:00

"""

from collections import Counter
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "c5f2a8d3e614"
down_revision = "a7d3e9f1c482"
branch_labels = None
depends_on = None

PARIS = ZoneInfo("Europe/Paris")

MEMBERS = sa.table(
    "members",
    sa.column("id", sa.Integer),
    sa.column("registration_status", sa.String),
    sa.column("state", sa.String),
    sa.column("statut", sa.String),
    sa.column("network_id", sa.Integer),
    sa.column("decided_by_id", sa.Integer),
    sa.column("decided_at", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("left_at", sa.DateTime(timezone=True)),
)
INVITATIONS = sa.table(
    "invitations",
    sa.column("member_id", sa.Integer),
    sa.column("accepted_at", sa.DateTime(timezone=True)),
)
COUNTS = sa.table(
    "analytics_member_months",
    sa.column("month", sa.String),
    sa.column("statut", sa.String),
    sa.column("network_id", sa.Integer),
    sa.column("joined", sa.Integer),
    sa.column("departed", sa.Integer),
)


def _month(when):
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(PARIS)
    return f"{local.year:04d}-{local.month:02d}"


def _accepted():
    i = INVITATIONS.c
    return (
        sa.select(sa.func.max(i.accepted_at))
        .where(i.member_id == MEMBERS.c.id, i.accepted_at.is_not(None))
        .scalar_subquery()
    )


def _recount():
    """`analytics.member_months.recount`, as of this revision."""
    bind = op.get_bind()
    bind.execute(sa.delete(COUNTS))
    m = MEMBERS.c
    rows = bind.execute(
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
            COUNTS,
            [
                {
                    "month": month,
                    "statut": statut,
                    "network_id": network_id,
                    "joined": joined[key],
                    "departed": departed[key],
                }
                for key in keys
                for month, statut, network_id in [key]
            ],
        )


def upgrade():
    m = MEMBERS.c
    op.get_bind().execute(
        sa.update(MEMBERS)
        .where(
            m.decided_at.is_(None),
            m.registration_status == "approved",
            _accepted().is_not(None),
        )
        .values(decided_at=_accepted())
    )
    _recount()


def downgrade():
    # A decision by a référent names them (decided_by_id); an acceptance names nobody.
    m = MEMBERS.c
    op.get_bind().execute(
        sa.update(MEMBERS)
        .where(m.decided_by_id.is_(None), m.decided_at == _accepted())
        .values(decided_at=None)
    )
    _recount()
