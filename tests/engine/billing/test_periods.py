"""Billing periods: months in UTC, bad forms refused by name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.billing.periods import Period, month


def test_a_month_is_half_open_in_utc_and_december_rolls_the_year() -> None:
    december = month("2026-12")
    assert december.start == datetime(2026, 12, 1, tzinfo=UTC)
    assert december.end == datetime(2027, 1, 1, tzinfo=UTC)
    assert december.label == "2026-12"


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-12", "", "2026-12-01"])
def test_a_bad_month_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month(text)


def test_a_period_must_run_forwards_in_a_known_zone() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="before"):
        Period(start, start)
    with pytest.raises(ValueError, match="time zone"):
        Period(datetime(2026, 12, 1), datetime(2026, 12, 2))
    assert Period(start, datetime(2026, 12, 2, tzinfo=UTC)).label.startswith("2026-12-01T")
