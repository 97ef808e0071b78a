"""The comité's monthly cells say who asked each kind of topic, and who opened the topics of
each mot-clé, so that a share of the responsiveness or solutions figures, or a mot-clé's row,
reads « < 5 » when the topics behind one of its parts come from fewer than 5 members.

First replies are now kept by the topic's class (`queries.reply_class`), with new kinds
« asked », « sol_ask » and « tag_open »: the months kept so far have cells of the old shape,
so they are all counted again (by the next report or `comcep analytics refresh`).

Revision ID: e4b7c2a9f513
Revises: d3a9e6b1f402
Create Date: 2026-12-07 00:00:00

"""

from alembic import op

revision = "e4b7c2a9f513"
down_revision = "d3a9e6b1f402"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE analytics_months SET computed_generation = NULL")


def downgrade():
    op.execute("DELETE FROM analytics_month_cells WHERE kind IN ('asked', 'sol_ask', 'tag_open')")
    op.execute("UPDATE analytics_months SET computed_generation = NULL")
