"""The comité's monthly cells keep only the keys their figures are read by.

Messages are kept by rubrique and replies by network (no figure reads the other key), and
topics twice: by rubrique (« topic ») and by network (« topic_net »). At a million posts this
keeps 8 000 cells over ten years instead of 50 000, and a report since launch adds up those.
The months kept so far have cells of the old shape, so they are all counted again (by the next
report or `comcep analytics refresh`).

Revision ID: 6c1e8f3a9b27
Revises: 2b7e4c9d1a53
Create Date: 2026-12-03 14:00:00

"""

from alembic import op

revision = "6c1e8f3a9b27"
down_revision = "2b7e4c9d1a53"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE analytics_months SET computed_generation = NULL")


def downgrade():
    op.execute("DELETE FROM analytics_month_cells WHERE kind = 'topic_net'")
    op.execute("UPDATE analytics_months SET computed_generation = NULL")
