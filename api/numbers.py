"""Recipients checked against the world's numbering plans before anything is held.

An HTTP caller names a recipient in international form (E.164: country code
and national number, with or without ``+``). A number no plan knows would be
routed, held for, sent and only then refused by the operator, or worse, billed;
so it is refused here, with the reason, by Google's libphonenumber metadata
(the ``phonenumbers`` package: kept current with the ITU and national plans).

The package's ``parse`` and ``is_valid_number`` cost tens of µs a number, in
Python calls around a few regular expressions. The usual recipient (digits,
a known calling code, no national prefix written after it) takes a fast path
that applies the same rules to the same metadata, compiled once per calling
code (`_Plan`): the regions of the code, chosen by leading digits as the
package does, then the number's length and pattern against the region's
general and per-type descriptions. The fast path only ever says "valid";
anything else (a national prefix to strip, an invalid number, whose refusal
needs the reason) goes through the package itself, so no number is accepted
that the package would refuse (tests check it on every region's examples).
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, NumberParseException, ValidationResult
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc

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


_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)
"""The descriptions a valid number matches one of (``_number_type_helper``)."""
_MAX_NSN = 17
"""The longest national significant number the package parses."""

Desc = tuple[frozenset[int], re.Pattern[str]]


class _Region:
    """One region's rules for validity: leading digits, general and per-type descriptions."""

    __slots__ = ("general", "leading", "types")

    def __init__(self, metadata: PhoneMetadata) -> None:
        self.leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        self.general = _desc(metadata.general_desc)
        self.types = [d for d in (_desc(getattr(metadata, t)) for t in _TYPES) if d is not None]

    def valid(self, nsn: str) -> bool:
        return _matches(self.general, nsn) and any(_matches(d, nsn) for d in self.types)


class _Plan:
    """A calling code's regions, and the national prefix its parsing would strip."""

    __slots__ = ("prefix", "regions")

    def __init__(self, code: int, regions: tuple[str, ...]) -> None:
        main = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
        prefix = main.national_prefix_for_parsing if main is not None else None
        self.prefix = re.compile(prefix) if prefix else None
        self.regions = [
            _Region(metadata)
            for region in regions
            if (metadata := PhoneMetadata.metadata_for_region_or_calling_code(code, region))
        ]

    def valid(self, nsn: str) -> bool:
        if self.prefix is not None:
            stripped = self.prefix.match(nsn)
            if stripped is not None and (
                stripped.end() or any(group is not None for group in stripped.groups())
            ):
                return False  # the package would try stripping a prefix: let it
        if len(self.regions) == 1:
            return self.regions[0].valid(nsn)
        for region in self.regions:  # `_region_code_for_number_from_list`
            if region.leading is not None:
                if region.leading.match(nsn):
                    return region.valid(nsn)
            elif region.valid(nsn):
                return True
        return False


def _desc(desc: PhoneNumberDesc | None) -> Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)


def _matches(desc: Desc | None, nsn: str) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    return (not lengths or len(nsn) in lengths) and pattern.fullmatch(nsn) is not None


@cache
def _plan(code: int) -> _Plan | None:
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
    return _Plan(code, regions) if regions else None


def _fast_valid(digits: str) -> bool:
    """True when ``digits`` (E.164, no ``+``) is surely valid; False means "ask the package"."""
    if not digits.isdigit() or not digits.isascii() or digits[0] == "0":
        return False
    for size in (1, 2, 3):
        plan = _plan(int(digits[:size]))
        if plan is not None:
            nsn = digits[size:]
            return 2 <= len(nsn) <= _MAX_NSN and plan.valid(nsn)
    return False


def international(digits: str) -> str:
    """The E.164 digits (no ``+``) of a recipient given as ``[+]digits``, or
    `InvalidNumber` saying why no operator could deliver to it."""
    given = digits.removeprefix("+")
    if _fast_valid(given):
        return given
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
