"""The French date and number filters: the fast paths agree with Babel everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from babel.dates import format_datetime
from babel.numbers import format_decimal

from comcep.filters import _FAST_DATES, LOCALE, TIMEZONE, date_fr, number_fr


def _instants() -> list[datetime]:
    """Every month of two years at several hours, both DST changes in Paris, the year's
    edges, and a few naive values (read as UTC)."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    values = [start + timedelta(days=17 * n, hours=5 * n, minutes=7 * n) for n in range(60)]
    for moment in (
        "2026-03-29T00:59",
        "2026-03-29T01:00",
        "2026-10-25T00:59",
        "2026-10-25T01:00",
        "2026-12-31T22:59",
        "2026-12-31T23:00",
        "2016-02-29T23:30",
    ):
        values.append(datetime.fromisoformat(moment).replace(tzinfo=UTC))
    values += [datetime(2026, 7, 14, 21, 45), datetime(2026, 1, 1, 0, 0)]  # naive: UTC
    return values


@pytest.mark.parametrize("fmt", sorted(_FAST_DATES))
def test_fast_dates_agree_with_babel(fmt: str) -> None:
    for value in _instants():
        expected = format_datetime(value, fmt, tzinfo=TIMEZONE, locale=LOCALE)
        assert date_fr(value, fmt) == expected, (value, fmt)


def test_other_patterns_and_values_go_to_babel() -> None:
    value = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
    assert date_fr(value, "EEEE d MMMM") == "vendredi 1 mai"
    assert date_fr(date(2026, 5, 1), "d MMMM yyyy") == "1 mai 2026"
    assert date_fr(None) == ""


@pytest.mark.parametrize(
    "value", [0, 7, 999, 1000, 12345, 1234567, -1234, 10**12, 12.5, -0.25, 1234.5678]
)
def test_numbers_agree_with_babel(value: float) -> None:
    assert number_fr(value) == format_decimal(value, locale=LOCALE)
