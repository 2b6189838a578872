from hypothesis import given, settings
from hypothesis import strategies as st

from router.numbers import CountryRule, without_plus

FRANCE = CountryRule(
    calling_code="33", trunk_prefix="0", international_prefix="00", national_lengths=frozenset({9})
)
SPAIN = CountryRule(
    calling_code="34", trunk_prefix="", international_prefix="00", national_lengths=frozenset({9})
)
RUSSIA = CountryRule(
    calling_code="7", trunk_prefix="8", international_prefix="810", national_lengths=frozenset({10})
)


def test_national_number_with_trunk_prefix_gets_country_code() -> None:
    assert FRANCE.to_international("0612345678") == "33612345678"
    assert RUSSIA.to_international("89161234567") == "79161234567"


def test_international_forms_lose_plus_or_access_code() -> None:
    assert FRANCE.to_international("+447700900123") == "447700900123"
    assert FRANCE.to_international("00447700900123") == "447700900123"
    assert RUSSIA.to_international("810447700900123") == "447700900123"


def test_country_without_trunk_prefix_takes_bare_national_numbers() -> None:
    assert SPAIN.to_international("612345678") == "34612345678"
    assert SPAIN.to_international("447700900123") == "447700900123"


def test_wrong_length_or_non_digits_are_left_alone() -> None:
    assert FRANCE.to_international("06123") == "06123"
    assert FRANCE.to_international("06123456789") == "06123456789"
    assert FRANCE.to_international("0A1234567") == "0A1234567"
    assert FRANCE.to_international("INFO") == "INFO"
    assert FRANCE.to_international("33612345678") == "33612345678"


def test_without_plus() -> None:
    assert without_plus("+33612345678") == "33612345678"
    assert without_plus("33612345678") == "33612345678"


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[1-9][0-9]{8}", fullmatch=True))
def test_every_national_form_reaches_the_same_number(national: str) -> None:
    international = "33" + national
    for written in ("0" + national, "+" + international, "00" + international):
        assert FRANCE.to_international(written) == international


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[1-9][0-9]{6,13}", fullmatch=True))
def test_international_numbers_are_fixed_points(number: str) -> None:
    assert FRANCE.to_international(number) == number
    assert FRANCE.to_international(FRANCE.to_international("+" + number)) == number
