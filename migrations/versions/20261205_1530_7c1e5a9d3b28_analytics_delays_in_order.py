"""The comité's kept delays are written in increasing order.

A report's medians (first replies, retained answers) take `np.median` of the delays of the
cells it reads, put end to end. In the order of the topics, at a million posts, the 92 000
delays of the 20 cells a report since launch reads took 2.3 ms to partition; as runs in
increasing order, the partition's pivots split them evenly: 0.4 to 0.6 ms. `rollups.keep_delays` now
writes them in order; this sorts the cells kept before. The figures do not change (a median
does not depend on the order), so the downgrade leaves them in order.

Revision ID: 7c1e5a9d3b28
Revises: 2e6b8d4f1a73
Create Date: 2026-12-05 15:30:00

"""

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "7c1e5a9d3b28"
down_revision = "2e6b8d4f1a73"
branch_labels = None
depends_on = None

KEPT = np.dtype(">i4")  # as `rollups.DELAY_TYPE` when written
cells = sa.table("analytics_month_cells", sa.column("id", sa.Integer), sa.column("delays", sa.Text))


def upgrade():
    bind = op.get_bind()
    rows = bind.execute(sa.select(cells.c.id, cells.c.delays).where(cells.c.delays.is_not(None)))
    changes = []
    for cell_id, delays in rows:
        values = np.frombuffer(bytes.fromhex(delays), dtype=KEPT)
        if np.any(values[1:] < values[:-1]):
            changes.append({"i": cell_id, "d": np.sort(values).tobytes().hex()})
    if changes:
        bind.execute(
            cells.update().where(cells.c.id == sa.bindparam("i")).values(delays=sa.bindparam("d")),
            changes,
        )


def downgrade():
    pass  # the earlier code reads the delays in any order
