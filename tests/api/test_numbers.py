"""The recipient check: the fast path accepts exactly what libphonenumber accepts."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from api.numbers import InvalidNumber, _fast_valid, international


def by_the_package(digits: str) -> str | None:
    """libphonenumber's own answer: the E.164 digits of a valid number, else None."""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:]


def examples() -> list[str]:
    """An example number of every type of every region and non-geographic code."""
    found = [
        phonenumbers.example_number_for_type(region, kind)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in PhoneNumberType.values()
    ]
    found += [
        phonenumbers.example_number_for_non_geo_entity(code)
        for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    ]
    return sorted({phonenumbers.format_number(n, PhoneNumberFormat.E164)[1:] for n in found if n})


EXAMPLES = examples()


def test_every_example_is_accepted_and_nearly_all_by_the_fast_path() -> None:
    assert len(EXAMPLES) > 1000
    assert all(international(digits) == digits for digits in EXAMPLES)
    fast = sum(_fast_valid(digits) for digits in EXAMPLES)
    assert fast > 0.95 * len(EXAMPLES)


def test_the_fast_path_never_accepts_what_the_package_refuses() -> None:
    rng = random.Random(16)
    for digits in EXAMPLES:
        for _ in range(10):  # one digit changed, one more, or one fewer
            at = rng.randrange(1, len(digits))
            near = digits[:at] + str(rng.randrange(10)) + digits[at + 1 :]
            near = near + str(rng.randrange(10)) if rng.random() < 0.3 else near
            near = near[:-1] if rng.random() < 0.3 else near
            if _fast_valid(near):
                assert by_the_package(near) == near, near


@given(st.from_regex(r"[1-9][0-9]{2,16}", fullmatch=True))
def test_the_fast_path_agrees_on_any_digits(digits: str) -> None:
    if _fast_valid(digits):
        assert by_the_package(digits) == digits


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+447911123456", "447911123456"),
        ("4407911123456", "447911123456"),  # a national prefix after the code: stripped
        ("+14155550123", "14155550123"),
    ],
)
def test_international_digits(given: str, expected: str) -> None:
    assert international(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("000000000", "no country's calling code"),
        ("99912345", "no country's calling code"),
        ("4479111234", "a local number of GB"),
        ("44791112345678", "too long for GB"),
        ("1415555012", "too short for US"),
        ("44791112345", "no GB number is in this range"),
    ],
)
def test_refusals_say_why(given: str, reason: str) -> None:
    with pytest.raises(InvalidNumber, match=reason):
        international(given)
