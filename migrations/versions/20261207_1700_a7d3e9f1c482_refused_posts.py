"""A post refused at pre-moderation is told apart from one hidden after publication:
posts.is_refused. A refused post was never published, so it stays out of the sight of
everyone but its author and the staff, as a pending one does, where a hidden one shows as
« Message masqué ».

Back-fill: a hidden post whose author was told « n'a pas publié votre message » (the
`post_refused` notification `hide_post` writes when it refuses a pending post) and which
no « restore_post » entry of the journal shows again since (a publication, which a
correction kept from the queue made, writes one) was refused and never published.

What the rows cannot tell, left as published (shown as « Message masqué », as before):
- a post refused when it had no author to tell (`hide_post` writes no notification then);
- a pending post removed with the others of a member who left asking for it
  (`hide_member_posts` writes one journal entry for the member, not one per post, and the
  same reason whether the post was published or pending);
- a refusal whose notification is gone with the row of its member.

Revision ID: a7d3e9f1c482
Revises: e9b4a7c2d815
Create Date: 2026-12-07 17:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a7d3e9f1c482"
down_revision = "e9b4a7c2d815"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("posts") as batch_op:
        batch_op.add_column(
            sa.Column("is_refused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    posts = sa.table(
        "posts",
        sa.column("id", sa.Integer),
        sa.column("is_hidden", sa.Boolean),
        sa.column("is_pending", sa.Boolean),
        sa.column("is_refused", sa.Boolean),
    )
    notifications = sa.table(
        "notifications", sa.column("post_id", sa.Integer), sa.column("kind", sa.String)
    )
    journal = sa.table(
        "moderation_log",
        sa.column("action", sa.String),
        sa.column("target_type", sa.String),
        sa.column("target_id", sa.Integer),
    )
    told_refused = (
        sa.select(notifications.c.post_id)
        .where(notifications.c.post_id == posts.c.id, notifications.c.kind == "post_refused")
        .exists()
    )
    shown_since = (
        sa.select(journal.c.target_id)
        .where(
            journal.c.action == "restore_post",
            journal.c.target_type == "post",
            journal.c.target_id == posts.c.id,
        )
        .exists()
    )
    op.execute(
        posts.update()
        .where(
            posts.c.is_hidden == sa.true(),
            posts.c.is_pending == sa.false(),
            told_refused,
            ~shown_since,
        )
        .values(is_refused=sa.true())
    )


def downgrade():
    with op.batch_alter_table("posts") as batch_op:
        batch_op.drop_column("is_refused")
