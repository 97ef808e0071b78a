"""The comité's first-reply and solution figures kept in the monthly tallies too.

Cells get the list of delays behind a median; the months kept so far have no such cells, so
they are all counted again (by the next report or `comcep analytics refresh`).

Revision ID: 9d3f6a2c8e17
Revises: 5a506c3cc5a8
Create Date: 2026-12-03 05:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "9d3f6a2c8e17"
down_revision = "5a506c3cc5a8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("analytics_month_cells", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delays", sa.Text(), nullable=True))
    op.execute("UPDATE analytics_months SET computed_generation = NULL")


def downgrade():
    op.execute("DELETE FROM analytics_month_cells WHERE kind IN ('answered', 'crossed', 'solved')")
    op.execute("UPDATE analytics_months SET computed_generation = NULL")
    with op.batch_alter_table("analytics_month_cells", schema=None) as batch_op:
        batch_op.drop_column("delays")
