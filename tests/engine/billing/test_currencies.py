"""Currencies: the ISO 4217 table, refusals by field, and amounts shown to the minor unit."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.billing.currencies import (
    CURRENCIES,
    check_currency,
    format_amount,
    minor_digits,
    round_half_even,
)

EXPECTED_DIGITS = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "UZS": 2,
    "IRR": 2,
    "JPY": 0,
    "BHD": 3,
    "KWD": 3,
    "CHF": 2,
    "RUB": 2,
    "TRY": 2,
    "AED": 2,
    "SAR": 2,
    "INR": 2,
    "CNY": 2,
    "KZT": 2,
    "CLF": 4,
    "XOF": 0,
}


def test_the_table_holds_iso_4217_minor_units() -> None:
    assert {code: minor_digits(code) for code in EXPECTED_DIGITS} == EXPECTED_DIGITS
    assert len(CURRENCIES) > 150
    assert all(len(code) == 3 and code.isascii() and code.isupper() for code in CURRENCIES)
    assert set(CURRENCIES.values()) == {0, 2, 3, 4}


@pytest.mark.parametrize("code", ["XAU", "XDR", "XXX", "XTS", "HRK", "BGN"])
def test_units_without_a_minor_unit_and_withdrawn_codes_are_not_currencies(code: str) -> None:
    assert code not in CURRENCIES


@pytest.mark.parametrize("code", ["eur", "EURO", "", "ZZZ", None, 978])
def test_an_unknown_currency_is_refused_naming_the_field_and_the_value(code: object) -> None:
    with pytest.raises(ValueError, match=rf"^base: unknown currency {code!r}"):
        check_currency(code, "base")


def test_a_known_currency_is_returned_and_the_default_field_is_currency() -> None:
    assert check_currency("UZS") == "UZS"
    with pytest.raises(ValueError, match=r"^currency: unknown currency 'uzs'"):
        minor_digits("uzs")


@pytest.mark.parametrize(
    ("micro", "code", "shown"),
    [
        (1_234_567_890, "EUR", "1234.57"),
        (1_234_565_000, "EUR", "1234.56"),  # a half: to the even cent
        (1_234_575_000, "EUR", "1234.58"),
        (-1_234_565_000, "EUR", "-1234.56"),
        (-1, "EUR", "0.00"),
        (5_000, "USD", "0.00"),
        (5_001, "USD", "0.01"),
        (2_500_000, "JPY", "2"),
        (3_500_000, "JPY", "4"),
        (0, "JPY", "0"),
        (1_234_500, "BHD", "1.234"),
        (1_000_050, "CLF", "1.0000"),
        (12_850_500_000_000, "UZS", "12850500.00"),
    ],
)
def test_an_amount_is_shown_to_its_minor_unit_half_to_even(
    micro: int, code: str, shown: str
) -> None:
    assert format_amount(micro, code) == shown


@given(st.integers(), st.integers(min_value=1, max_value=10**30))
def test_round_half_even_is_pythons_exact_rounding(numerator: int, denominator: int) -> None:
    assert round_half_even(numerator, denominator) == round(Fraction(numerator, denominator))


@given(st.integers(min_value=-(10**24), max_value=10**24), st.sampled_from(sorted(CURRENCIES)))
def test_a_shown_amount_is_the_exact_amount_rounded_once(micro: int, code: str) -> None:
    digits = CURRENCIES[code]
    shown = format_amount(micro, code)
    assert Fraction(shown) == Fraction(round(Fraction(micro, 10 ** (6 - digits))), 10**digits)
    assert len(shown.partition(".")[2]) == digits
