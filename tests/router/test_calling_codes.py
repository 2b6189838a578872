"""The router's country table agrees with libphonenumber on every example number it has."""

import phonenumbers
from phonenumbers import PhoneNumberType

from router.calling_codes import COUNTRY_PREFIXES
from router.prefixes import PrefixMap

COUNTRIES = PrefixMap(COUNTRY_PREFIXES.items())
BY_LENGTH_ONLY = {"13101234"}
"""Canada's seven-digit 310-XXXX numbers: +1 310 is a Los Angeles area code otherwise."""


def example_numbers() -> list[phonenumbers.PhoneNumber]:
    found = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in vars(PhoneNumberType).values():
            if isinstance(kind, int):
                number = phonenumbers.example_number_for_type(region, kind)
                if number is not None:
                    found.append(number)
    return found


def test_every_example_number_is_in_the_country_libphonenumber_gives() -> None:
    numbers = example_numbers()
    assert len(numbers) > 1_000
    wrong = {}
    for number in numbers:
        digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
        expected = phonenumbers.region_code_for_number(number)
        if COUNTRIES.longest(digits) != expected and digits not in BY_LENGTH_ONLY:
            wrong[digits] = (COUNTRIES.longest(digits), expected)
    assert wrong == {}


def test_non_geographic_codes_have_no_country() -> None:
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        assert COUNTRIES.longest(f"{code}12345678") is None


def test_every_value_is_an_iso_alpha_2_code() -> None:
    assert all(len(c) == 2 and c.isupper() for c in COUNTRY_PREFIXES.values())
    assert all(prefix.isdigit() for prefix in COUNTRY_PREFIXES)
