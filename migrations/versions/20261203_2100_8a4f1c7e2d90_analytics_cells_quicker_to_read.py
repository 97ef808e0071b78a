"""The comité's kept cells are quicker to read: delays in hex, each month's total in one cell.

- A report since launch decodes every first reply's delay of the period to take their median:
  at a million posts, 100 000 of them. Parsed from decimal lists they cost it 19 M
  instructions; written in hex, 8 digits a delay, `bytes.fromhex` decodes them in one C loop.
  The kept delays are converted in place (seconds as 32-bit big-endian integers, clipped to
  ±68 years).
- The figures by month summed every month's « message » cells (one per rubrique); each
  month's « month » cell, present in every tallied month, now holds its messages in every
  rubrique and the members behind them. They are filled from the « message » cells.

Nothing has to be counted again.

Revision ID: 8a4f1c7e2d90
Revises: 4e8a2d6f0c19
Create Date: 2026-12-03 21:00:00

"""

from collections import defaultdict

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "8a4f1c7e2d90"
down_revision = "4e8a2d6f0c19"
branch_labels = None
depends_on = None

KEPT = np.dtype(">i4")
RANGE = np.iinfo(KEPT)
THRESHOLD = 5  # « < 5 »: a cell lists its members' ids while they are fewer
cells = sa.table(
    "analytics_month_cells",
    sa.column("id", sa.Integer),
    sa.column("month", sa.String),
    sa.column("kind", sa.String),
    sa.column("items", sa.Integer),
    sa.column("people", sa.Integer),
    sa.column("sample", sa.String),
    sa.column("delays", sa.Text),
)


def _to_hex(text: str) -> str | None:
    values = np.fromstring(text, dtype=np.int64, sep=",")
    if not values.size:
        return None
    return np.clip(values, RANGE.min, RANGE.max).astype(KEPT).tobytes().hex()


def _to_decimal(text: str) -> str | None:
    values = np.frombuffer(bytes.fromhex(text), dtype=KEPT)
    return ",".join(str(int(v)) for v in values) or None


def _convert(convert) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(cells.c.id, cells.c.delays).where(cells.c.delays.is_not(None)))
    changes = [{"i": cell_id, "d": convert(delays)} for cell_id, delays in rows]
    if changes:
        bind.execute(
            cells.update().where(cells.c.id == sa.bindparam("i")).values(delays=sa.bindparam("d")),
            changes,
        )


def _fill_month_cells() -> None:
    bind = op.get_bind()
    marked = {
        month for (month,) in bind.execute(sa.select(cells.c.month).where(cells.c.kind == "month"))
    }
    items: dict[str, int] = defaultdict(int)
    people: dict[str, set[int] | None] = defaultdict(set)
    rows = bind.execute(
        sa.select(cells.c.month, cells.c["items"], cells.c.people, cells.c.sample).where(
            cells.c.kind == "message", cells.c.month.in_(marked)
        )
    )
    for month, count, many, sample in rows:
        items[month] += count
        known = people[month]
        if known is None or many >= THRESHOLD:
            people[month] = None
            continue
        known.update(int(i) for i in sample.split(",") if i)
        if len(known) >= THRESHOLD:
            people[month] = None
    changes = []
    for month in marked:
        ids = people[month]
        changes.append(
            {
                "m": month,
                "n": items[month],
                "p": THRESHOLD if ids is None else len(ids),
                "s": "" if ids is None else ",".join(str(i) for i in sorted(ids)),
            }
        )
    if changes:
        bind.execute(
            cells.update()
            .where(cells.c.month == sa.bindparam("m"), cells.c.kind == "month")
            .values(items=sa.bindparam("n"), people=sa.bindparam("p"), sample=sa.bindparam("s")),
            changes,
        )


def upgrade():
    _convert(_to_hex)
    _fill_month_cells()


def downgrade():
    _convert(_to_decimal)
    op.execute(
        "UPDATE analytics_month_cells SET items = 0, people = 0, sample = '' WHERE kind = 'month'"
    )
