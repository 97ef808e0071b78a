"""A reply never published takes no place in its topic's numbers: the replies awaiting
pre-moderation or refused there (`posts.is_pending`, `posts.is_refused`, the opening post
aside) are numbered -1, -2… in each topic in the order written, as `forum.services` now
numbers them (`Post.number`), instead of holding the place they were given.

Where they stood at the end of a topic, that place is given back (`topics.last_number`
down to its last post still numbered), so that the next reply follows its readers' last
post without a gap; read marks and the moderation's notes past it come back to it (only
the posts' authors and the staff could have read that far). A place in the middle of the
topic stays a gap: numbering the posts after it again would move every reader's mark.

Downgrade: they take places after each topic's last post again.

Revision ID: 63d5bfbd74e7
Revises: c5f2a8d3e614
Create Date: 2026-12-07 19:00:00

"""

import itertools

import sqlalchemy as sa
from alembic import op

revision = "63d5bfbd74e7"
down_revision = "c5f2a8d3e614"
branch_labels = None
depends_on = None

posts = sa.table(
    "posts",
    sa.column("id", sa.Integer),
    sa.column("topic_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("created_at", sa.DateTime),
    sa.column("is_pending", sa.Boolean),
    sa.column("is_refused", sa.Boolean),
)
topics = sa.table("topics", sa.column("id", sa.Integer), sa.column("last_number", sa.Integer))
reads = sa.table(
    "topic_reads", sa.column("topic_id", sa.Integer), sa.column("last_read_number", sa.Integer)
)
events = sa.table(
    "topic_events", sa.column("topic_id", sa.Integer), sa.column("after_number", sa.Integer)
)


def _last_place(topic_id: sa.ColumnElement) -> sa.ScalarSelect:
    return (
        sa.select(sa.func.coalesce(sa.func.max(posts.c.number), 0))
        .where(posts.c.topic_id == topic_id)
        .scalar_subquery()
    )


def upgrade():
    connection = op.get_bind()
    unpublished = connection.execute(
        sa.select(posts.c.id, posts.c.topic_id)
        .where(
            sa.or_(posts.c.is_pending == sa.true(), posts.c.is_refused == sa.true()),
            posts.c.number > 1,
        )
        .order_by(posts.c.topic_id, posts.c.created_at, posts.c.id)
    ).all()
    if not unpublished:
        return
    for _topic_id, rows in itertools.groupby(unpublished, key=lambda row: row.topic_id):
        for rank, row in enumerate(rows, start=1):
            connection.execute(posts.update().where(posts.c.id == row.id).values(number=-rank))
    moved = sa.select(posts.c.topic_id).where(posts.c.number < 0)
    last_place = _last_place(topics.c.id)
    connection.execute(
        topics.update()
        .where(topics.c.id.in_(moved), topics.c.last_number > last_place)
        .values(last_number=last_place)
    )
    last_number = sa.select(topics.c.last_number).where(topics.c.id == reads.c.topic_id)
    last_number = last_number.scalar_subquery()
    connection.execute(
        reads.update()
        .where(reads.c.topic_id.in_(moved), reads.c.last_read_number > last_number)
        .values(last_read_number=last_number)
    )
    anchor = (
        sa.select(topics.c.last_number).where(topics.c.id == events.c.topic_id).scalar_subquery()
    )
    connection.execute(
        events.update()
        .where(events.c.topic_id.in_(moved), events.c.after_number > anchor)
        .values(after_number=anchor)
    )


def downgrade():
    connection = op.get_bind()
    moved = [
        row.topic_id
        for row in connection.execute(
            sa.select(posts.c.topic_id).where(posts.c.number < 0).distinct()
        )
    ]
    if not moved:
        return
    last_number = (
        sa.select(topics.c.last_number).where(topics.c.id == posts.c.topic_id).scalar_subquery()
    )
    connection.execute(
        posts.update().where(posts.c.number < 0).values(number=last_number - posts.c.number)
    )
    connection.execute(
        topics.update().where(topics.c.id.in_(moved)).values(last_number=_last_place(topics.c.id))
    )
