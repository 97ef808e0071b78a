"""Members' names folded (no case, no accents) for accent-insensitive searches.

Revision ID: 4e8b1c6d2f90
Revises: 30b536782590
Create Date: 2026-12-02 05:30:00

"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "4e8b1c6d2f90"
down_revision = "30b536782590"
branch_labels = None
depends_on = None

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "ʼ": "'"})


def fold_name(text: str) -> str:
    """comcep.members.models.fold_name as of this revision (a migration never imports app code)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(folded.split())[:80]


def upgrade():
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_key", sa.String(length=80), nullable=False, server_default="")
        )
    members = sa.table(
        "members",
        sa.column("id", sa.Integer),
        sa.column("display_name", sa.String),
        sa.column("name_key", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(members.c.id, members.c.display_name)).all()
    if rows:
        connection.execute(
            members.update()
            .where(members.c.id == sa.bindparam("member_id"))
            .values(name_key=sa.bindparam("key")),
            [{"member_id": row.id, "key": fold_name(row.display_name or "")} for row in rows],
        )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.alter_column("name_key", server_default=None)
        batch_op.create_index(batch_op.f("ix_members_name_key"), ["name_key"], unique=False)


def downgrade():
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_name_key"))
        batch_op.drop_column("name_key")
