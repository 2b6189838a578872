"""Amounts on console pages: exact, from integers, never rounded away."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from api.console.render import money
from ledger.model import MAX_AMOUNT


@given(st.integers(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT))
def test_the_shown_amount_reads_back_as_the_same_micro_units(amount: int) -> None:
    shown = money(amount, "EUR")
    number, currency = shown.split(" ")
    assert currency == "EUR"
    assert Decimal(number.replace(",", "")) * 1_000_000 == amount
    assert len(number.partition(".")[2]) >= 2


def test_examples() -> None:
    assert money(10_000_000, "EUR") == "10.00 EUR"
    assert money(45_000, "EUR") == "0.045 EUR"
    assert money(-1_500_000) == "-1.50"
    assert money(None) == ""
