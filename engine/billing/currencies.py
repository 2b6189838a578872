"""ISO 4217 currencies and their minor units, and the one rounding rule of money.

Amounts are ints of micro-units (`router.tariffs.MICRO_UNITS` in one major
unit) whatever the currency; the minor unit only says how an invoice *shows*
an amount (EUR 2 digits, JPY 0, BHD 3). Rounding, wherever a product is not
whole, is half to even, once, at the end (docs/billing.md, "Money").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from router.tariffs import MICRO_UNITS

_MICRO_DIGITS = len(str(MICRO_UNITS)) - 1

_CODES_BY_DIGITS = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB "
    "EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES "
    "KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR "
    "MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD "
    "RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP "
    "TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XAD XCD XCG YER ZAR ZMW ZWG",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}

CURRENCIES: Mapping[str, int] = MappingProxyType(
    {code: digits for digits, codes in _CODES_BY_DIGITS.items() for code in codes.split()}
)
"""Alpha-3 code -> digits of its minor unit: ISO 4217 List One as published on
2026-01-01 (so BGN, withdrawn when Bulgaria took the euro, is gone). Codes with
no minor unit (precious metals, XDR, XSU, XUA, bond market units, XTS, XXX)
are left out: nothing is billed in them."""


def check_currency(code: object, field: str = "currency") -> str:
    """``code`` when it is an active ISO 4217 code (upper case, as the standard
    writes it), else a ValueError naming ``field`` and the value."""
    if isinstance(code, str) and code in CURRENCIES:
        return code
    raise ValueError(f"{field}: unknown currency {shown(code)} (an ISO 4217 code, e.g. EUR)")


def minor_digits(code: str) -> int:
    """Digits of ``code``'s minor unit (EUR 2, JPY 0, BHD 3)."""
    return CURRENCIES[check_currency(code)]


def round_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (``denominator`` > 0) rounded half to even,
    in ints only: the remainder of a floor division is never negative, so one
    rule serves both signs."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


def format_amount(micro: int, code: str) -> str:
    """``micro`` micro-units of ``code`` as an invoice shows them: rounded half
    to even to the minor unit ("1234.57"; JPY "1235"). The stored amount stays
    exact; only what is shown is rounded."""
    digits = minor_digits(code)
    units = round_half_even(micro, 10 ** (_MICRO_DIGITS - digits))
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}" if digits else f"{sign}{whole}"


def shown(value: object) -> str:
    """``value`` as an error message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
