"""Invitations as rows: the staff list those pending, send them again or withdraw them.

Until now an invitation was only a pending member and a signed link: nothing said who sent
it, when its link ran out, or let the staff withdraw it. The invitations pending at this
revision get their row, sent by the author of their « invite » entry in the moderation log
and valid 14 days from the invitation, as their link is.

Revision ID: f743b57cebd0
Revises: 3f9a7c2e5b14
Create Date: 2026-12-06 10:40:00

"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "f743b57cebd0"
down_revision = "3f9a7c2e5b14"
branch_labels = None
depends_on = None

INVITE_DAYS = 14  # comcep.members.tokens.MAX_AGE["invite"] as of this revision


def upgrade():
    invitations = op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["members.id"],
            name=op.f("fk_invitations_invited_by_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_invitations_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["members.id"],
            name=op.f("fk_invitations_revoked_by_id_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invitations_invited_by_id"), ["invited_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invitations_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_invitations_revoked_by_id"), ["revoked_by_id"], unique=False
        )

    members = sa.table(
        "members",
        sa.column("id", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("state", sa.String),
        sa.column("registration_status", sa.String),
    )
    log = sa.table(
        "moderation_log",
        sa.column("actor_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("target_type", sa.String),
        sa.column("target_id", sa.Integer),
    )
    inviter = (
        sa.select(sa.func.max(log.c.actor_id))
        .where(
            log.c.action == "invite",
            log.c.target_type == "member",
            log.c.target_id == members.c.id,
        )
        .scalar_subquery()
    )
    rows = (
        op.get_bind()
        .execute(
            sa.select(members.c.id, members.c.created_at, inviter.label("inviter")).where(
                members.c.state == "pending", members.c.registration_status == "invited"
            )
        )
        .all()
    )
    if rows:
        op.bulk_insert(
            invitations,
            [
                {
                    "member_id": row.id,
                    "invited_by_id": row.inviter,
                    "created_at": row.created_at,
                    "sent_at": row.created_at,
                    "expires_at": row.created_at + timedelta(days=INVITE_DAYS),
                }
                for row in rows
            ],
        )


def downgrade():
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_revoked_by_id"))
        batch_op.drop_index(batch_op.f("ix_invitations_member_id"))
        batch_op.drop_index(batch_op.f("ix_invitations_invited_by_id"))
    op.drop_table("invitations")
