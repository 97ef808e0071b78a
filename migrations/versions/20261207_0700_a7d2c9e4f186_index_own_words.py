"""The search index reads a post without the posts it quotes with « Citer »
(`rendering.searchable_text`): the posts that quote one are indexed again, through the
outbox, as any change to the index is (applied by the next request that writes, or by
`comcep worker`; `comcep search sync` applies them at once).

Revision ID: a7d2c9e4f186
Revises: e4b7c2a9f513
Create Date: 2026-12-07 07:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "a7d2c9e4f186"
down_revision = "e4b7c2a9f513"
branch_labels = None
depends_on = None

# As `rendering.QUOTE_MARK` is today: a migration keeps its own copy.
QUOTE_MARK = "</a> a écrit :</p>"

posts = sa.table("posts", sa.column("id", sa.Integer), sa.column("body_html", sa.Text))
outbox_events = sa.table(
    "outbox_events",
    sa.column("kind", sa.String),
    sa.column("ref_id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("available_at", sa.DateTime(timezone=True)),
    sa.column("attempts", sa.Integer),
    sa.column("last_error", sa.Text),
    sa.column("parked", sa.Boolean),
)


def _reindex_quoting_posts() -> None:
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":  # stored as UTCDateTime does: naive UTC
        now = now.replace(tzinfo=None)
    quoting = sa.select(
        sa.literal("search.post"),
        posts.c.id,
        sa.literal(now, sa.DateTime(timezone=True)),
        sa.literal(now, sa.DateTime(timezone=True)),
        sa.literal(0),
        sa.literal(""),
        sa.false(),
    ).where(posts.c.body_html.contains(QUOTE_MARK, autoescape=True))
    op.execute(
        outbox_events.insert().from_select(
            ["kind", "ref_id", "created_at", "available_at", "attempts", "last_error", "parked"],
            quoting,
        )
    )


def upgrade():
    _reindex_quoting_posts()


def downgrade():
    _reindex_quoting_posts()  # their quotes are indexed again
