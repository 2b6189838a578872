"""Recipients checked against the world's numbering plans before anything is held.

An HTTP caller names a recipient in international form (E.164: country code
and national number, with or without ``+``). A number no plan knows would be
routed, held for, sent and only then refused by the operator, or worse, billed;
so it is refused here, with the reason, by Google's libphonenumber metadata
(the ``phonenumbers`` package: kept current with the ITU and national plans).
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

_UNPARSABLE = {
    NumberParseException.INVALID_COUNTRY_CODE: "it starts with no country's calling code",
    NumberParseException.NOT_A_NUMBER: "too short for any country",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short for any country",
    NumberParseException.TOO_SHORT_NSN: "too short for any country",
    NumberParseException.TOO_LONG: "too long for any country",
}
_IMPOSSIBLE = {
    ValidationResult.INVALID_COUNTRY_CODE: "no country has calling code +{code}",
    ValidationResult.TOO_SHORT: "too short for {country}",
    ValidationResult.TOO_LONG: "too long for {country}",
    ValidationResult.INVALID_LENGTH: "not a length {country} numbers have",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number of {country}: give its area code",
}


class InvalidNumber(ValueError):
    """Why a recipient is refused, in words a caller can act on."""


def international(digits: str) -> str:
    """The E.164 digits (no ``+``) of a recipient given as ``[+]digits``, or
    `InvalidNumber` saying why no operator could deliver to it."""
    try:
        number = phonenumbers.parse("+" + digits.removeprefix("+"))
    except NumberParseException as exc:
        raise InvalidNumber(_UNPARSABLE.get(exc.error_type, "not a phone number")) from None
    code = number.country_code
    country = phonenumbers.region_code_for_country_code(code)
    country = f"+{code}" if country == phonenumbers.UNKNOWN_REGION else country
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        if reason == ValidationResult.IS_POSSIBLE:
            raise InvalidNumber(f"no {country} number is in this range")
        raise InvalidNumber(_IMPOSSIBLE[reason].format(code=code, country=country))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def refusal(field: str, given: str, exc: InvalidNumber) -> str:
    """The refusal's words: ``to: "000000000" is not a valid number (why)``."""
    return f'{field}: "{given[:40]}" is not a valid number ({exc})'
