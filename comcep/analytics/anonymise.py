"""Small-cell suppression for the comité's analyses (SPEC §8): « < 5 ».

The rule, applied to every figure of the page, the CSV exports and the CLI report:

- a **member count** (members of a network, of an organisation, pairs or hors pairs at the end
  of a month) is shown only when it is 0 or at least 5;
- a **count of topics or messages** is shown only when the items counted were written by 0 or
  at least 5 distinct members. For a thème or a rubrique, the people are the distinct openers
  of the row's topics opened in the period, and the distinct authors of its messages posted in
  the period (opening posts included): the row reads « < 5 » when either are fewer than 5, its
  topic and message counts together (the totals row likewise); for a network's activity, the
  people are the distinct authors of the topics (resp. replies) counted, each cell on its own;
- a **share** (%) of a suppressed count is suppressed too (it would give the count back:
  share × total); shares are computed on the unsuppressed totals;
- **responsiveness** figures are suppressed when the topics they describe were opened by
  fewer than 5 distinct members, or (for the figures about first replies) when those replies
  were written by fewer than 5 distinct members. A share, with the number of topics printed,
  gives away both counts it divides the topics into: each of the two parts must pass that
  test (`queries.PARTS`); the solutions' share likewise (solved and unsolved topics);
- a **mot-clé**'s row, like a thème's, is judged by the openers of its topics and by the
  writers of its messages.

Suppression is also **complementary** wherever a total is published (the thèmes' total row;
a thème's row for its rubriques; the member counts of a kind, given away by the shares and by
the month-end count of the growth table; the monthly messages and the networks' activity,
which add up to the period's totals). Totals stay exact, so a lone « < 5 » cell would be the
total minus the cells shown. `complementary` therefore masks more cells, as « masqué »
(`MASKED`, never « < 5 »: these cells are not small), smallest first, until no « < 5 » cell
can be pinned to one value by a reader who knows the total, the cells shown, that a « < 5 »
member count lies in 1…4 and that a « masqué » one is at least 5. When even masking every
cell of the table is not enough, the total itself is withheld (`Protection.withhold_total`:
the members of a kind, and the growth table's count of that kind at the end of any month
whose networks table would withhold it); where that total is printed in another table (the
monthly messages and the activity, whose totals are the thèmes'), it cannot be, a known
limit that only a tiny period reaches (see `report._column_marks`).
The figures describe volumes, never who wrote what.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

THRESHOLD = 5
SMALL = "< 5"
MASKED = "masqué"  # complementary suppression: a figure hidden so that no « < 5 » is derived

Cell = int | str


def is_small(count: int, people: int) -> bool:
    """True when a non-zero figure describes fewer than THRESHOLD distinct members."""
    return count != 0 and people < THRESHOLD


def count_cell(count: int, people: int) -> Cell:
    """A count of items written by `people` distinct members, or « < 5 »."""
    return SMALL if is_small(count, people) else count


def member_cell(members: int) -> Cell:
    """A count of members: 0 or at least 5, otherwise « < 5 »."""
    return count_cell(members, members)


def rounded(value: float | Decimal, places: int = 1) -> float:
    """Round half up (12.25 → 12.3), as people do, not to the nearest even digit."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def share(count: int, total: int, *, hidden: bool = False) -> float | None:
    """`count` as a percentage of `total` (one decimal); None when hidden or undefined."""
    if hidden or total <= 0:
        return None
    return rounded(Decimal(count * 100) / Decimal(total))


Bounds = tuple[int, int | None]  # what a reader knows of a hidden cell: low, high (None: ∞)


@dataclass(frozen=True)
class Protection:
    masked: list[bool]  # rows to show as « masqué » (complementary suppression)
    withhold_total: bool  # masking every row was not enough: the total must not be published


def complementary(
    rows: Sequence[Sequence[int]],
    small: Sequence[bool],
    *,
    small_bounds: Sequence[Bounds],
    masked_floor: Sequence[int],
) -> Protection:
    """Rows to mask so that no « < 5 » figure can be recovered from a column's published total.

    `rows` hold the true figures (one value per column), `small` says which rows read « < 5 ».
    For each column, a reader knows the sum of the hidden cells (total minus the cells shown)
    and bounds for each: `small_bounds[c]` for a « < 5 » cell, at least `masked_floor[c]` for
    a masked one. While some « < 5 » cell has a single possible non-zero value (one hidden cell
    alone, or the bounds leave no room), the smallest shown non-zero cell of that column is
    masked too, its row with it. Zero is not a secret (it is always shown).
    """
    masked = [False] * len(rows)
    columns = range(len(small_bounds))
    while True:
        hidden = [i for i in range(len(rows)) if small[i] or masked[i]]
        column = next(
            (
                c
                for c in columns
                if _pinned(rows, small, hidden, c, small_bounds[c], masked_floor[c])
            ),
            None,
        )
        if column is None:
            return Protection(masked, withhold_total=False)
        shown = [i for i in range(len(rows)) if i not in hidden and rows[i][column] > 0]
        if not shown:
            return Protection(masked, withhold_total=True)
        masked[min(shown, key=lambda i: rows[i][column])] = True


def _pinned(
    rows: Sequence[Sequence[int]],
    small: Sequence[bool],
    hidden: list[int],
    column: int,
    small_bounds: Bounds,
    masked_floor: int,
) -> bool:
    """True when a « < 5 » cell of `column` has exactly one possible non-zero value."""
    bounds = {i: small_bounds if small[i] else (masked_floor, None) for i in hidden}
    total = sum(rows[i][column] for i in hidden)
    for i in hidden:
        if not small[i]:
            continue
        others = [bounds[j] for j in hidden if j != i]
        highs = [high for _low, high in others]
        low = bounds[i][0]
        if None not in highs:
            low = max(low, total - sum(h for h in highs if h is not None))
        high = total - sum(lo for lo, _high in others)
        if bounds[i][1] is not None:
            high = min(high, bounds[i][1])
        if low >= high and high != 0:
            return True
    return False
