"""The « < 5 » rule, as a table."""

from __future__ import annotations

import pytest

from comcep.analytics.anonymise import (
    SMALL,
    complementary,
    count_cell,
    member_cell,
    rounded,
    share,
)

COUNT_RULES = [
    (0, 0, 0),
    (1, 1, SMALL),
    (4, 4, SMALL),
    (5, 5, 5),
    (40, 4, SMALL),  # many messages, but by 4 members
    (40, 5, 40),
    (3, 7, 3),  # few items, by many members (a thème's topics with many repliers)
]


@pytest.mark.parametrize(("count", "people", "expected"), COUNT_RULES, ids=str)
def test_a_count_reads_small_when_fewer_than_five_members_are_behind_it(
    count: int, people: int, expected: int | str
) -> None:
    assert count_cell(count, people) == expected


@pytest.mark.parametrize(
    ("members", "expected"), [(0, 0), (1, SMALL), (3, SMALL), (4, SMALL), (5, 5), (12, 12)], ids=str
)
def test_a_member_count_below_five_reads_small_but_zero_stays(
    members: int, expected: int | str
) -> None:
    assert member_cell(members) == expected


@pytest.mark.parametrize(
    ("count", "total", "hidden", "expected"),
    [
        (4, 9, False, 44.4),
        (13, 30, False, 43.3),
        (1, 8, False, 12.5),
        (1, 16, False, 6.3),  # 6.25 rounds half up
        (3, 3, False, 100.0),
        (0, 0, False, None),
        (2, 9, True, None),
    ],
    ids=str,
)
def test_shares_are_rounded_half_up_and_hidden_with_their_count(
    count: int, total: int, hidden: bool, expected: float | None
) -> None:
    assert share(count, total, hidden=hidden) == expected


def test_rounding_is_half_up_not_to_even() -> None:
    assert rounded(2.25) == 2.3
    assert rounded(2.35) == 2.4
    assert rounded(0.05) == 0.1


# --- Complementary suppression ----------------------------------------------------------------

MEMBERS = {"small_bounds": [(1, 4)], "masked_floor": [5]}
ITEMS = {"small_bounds": [(1, None)], "masked_floor": [5]}

COMPLEMENTARY = [
    # (values, small, bounds, expected masked, withhold the total)
    ([3, 6, 20], [True, False, False], ITEMS, [False, True, False], False),
    ([0, 6, 20], [False, False, False], ITEMS, [False, False, False], False),
    ([3, 2, 6, 20], [True, True, False, False], ITEMS, [False, False, False, False], False),
    # two « < 5 » of one item each: 2 hidden items are 1 + 1, a third row must go
    ([1, 1, 6, 20], [True, True, False, False], ITEMS, [False, False, True, False], False),
    # 1 member + a masked 5: the pair is 6, and 6 = 1 + 5 only; one more is masked
    ([1, 5, 7, 20], [True, False, False, False], MEMBERS, [False, True, True, False], False),
    ([1, 0, 9], [True, False, False], MEMBERS, [False, False, True], False),
    # nothing left to mask: the total must not be published
    ([1, 5], [True, False], MEMBERS, [False, True], True),
]


@pytest.mark.parametrize(
    ("values", "small", "bounds", "masked", "withhold"), COMPLEMENTARY, ids=str
)
def test_complementary_suppression_masks_the_smallest_cells_until_nothing_is_derived(
    values: list[int], small: list[bool], bounds: dict, masked: list[bool], withhold: bool
) -> None:
    protection = complementary([(v,) for v in values], small, **bounds)

    assert protection.masked == masked
    assert protection.withhold_total is withhold


def test_a_row_is_masked_for_the_column_that_would_give_a_small_row_away() -> None:
    rows = [(2, 3), (1, 40), (9, 6), (0, 0)]  # (topics, messages); row 0 is « < 5 »

    protection = complementary(
        rows, [True, False, False, False], small_bounds=[(0, None), (1, None)], masked_floor=[0, 5]
    )

    assert protection.masked == [False, True, False, False]  # fewest topics, whatever its messages
