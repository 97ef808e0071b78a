"""Small-cell suppression for the comité's analyses (SPEC §8): « < 5 ».

The rule, applied to every figure of the page, the CSV exports and the CLI report:

- a **member count** (members of a network, of an organisation, pairs or hors pairs at the end
  of a month) is shown only when it is 0 or at least 5;
- a **count of topics or messages** is shown only when the items counted were written by 0 or
  at least 5 distinct members. For a thème or a rubrique, the people are the distinct authors of
  the row's messages posted in the period (opening posts included), and the row's topic and
  message counts are suppressed together; for a network's activity, the people are the distinct
  authors of the topics (resp. replies) counted, each cell on its own;
- a **share** (%) of a suppressed count is suppressed too (it would give the count back:
  share × total); shares are computed on the unsuppressed totals;
- **responsiveness** figures are suppressed when the topics they describe were opened by
  fewer than 5 distinct members, or (for the figures about first replies) when those replies
  were written by fewer than 5 distinct members.

Suppression is primary only: totals stay exact, so a single suppressed row can sometimes be
derived by difference. The figures describe volumes, never who wrote what.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

THRESHOLD = 5
SMALL = "< 5"

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
