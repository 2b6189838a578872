"""Exchange rates: records checked by field, the book at an instant, conversion
in ints, and the CSV import."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import input_issues
from engine.billing import rates
from engine.billing.rates import (
    ExchangeRate,
    MissingRate,
    RateBook,
    RateIssues,
    parse_rates_csv,
)

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
DAY = 86_400.0


def record(base: str, quote: str, rate: str, valid_from: datetime = JAN) -> ExchangeRate:
    return ExchangeRate(base=base, quote=quote, rate=rate, valid_from=valid_from)


def decimal_text(mantissa: int, scale: int) -> str:
    """``mantissa`` * 10**-``scale`` as a plain decimal."""
    return format(Decimal(mantissa).scaleb(-scale), "f")


# A realistic rate: up to 18 significant digits, between 1e-12 and 1e12.
rates_text = st.builds(
    decimal_text, st.integers(min_value=1, max_value=10**18 - 1), st.integers(0, 24)
).filter(lambda text: Fraction(1, 10**12) <= Fraction(text) <= 10**12)
amounts = st.integers(min_value=-(10**15), max_value=10**15)


# -- records ---------------------------------------------------------------------------


def test_a_record_keeps_its_rate_plain_and_its_instant_in_utc() -> None:
    plus_five = timezone(timedelta(hours=5))
    kept = record("EUR", "UZS", "012850.500", datetime(2026, 1, 1, 5, tzinfo=plus_five))
    assert kept == record("EUR", "UZS", "12850.5", JAN)
    assert kept.valid_from.tzinfo is UTC
    assert kept.value == Fraction(25701, 2)
    assert record("EUR", "JPY", "160.000").rate == "160"
    assert record("JPY", "EUR", "0.00625").rate == "0.00625"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"base": "EUX"}, "base"),
        ({"quote": "usd"}, "quote"),
        ({"quote": "EUR"}, "quote"),
        ({"rate": "0"}, "rate"),
        ({"rate": "0.000"}, "rate"),
        ({"rate": "-1.5"}, "rate"),
        ({"rate": "1e3"}, "rate"),
        ({"rate": "1,5"}, "rate"),
        ({"rate": ".5"}, "rate"),
        ({"rate": ""}, "rate"),
        ({"rate": 1.5}, "rate"),
        ({"rate": "1234567890.123456789"}, "rate"),  # 19 significant digits
        ({"rate": "0." + "0" * 39 + "1"}, "rate"),  # over 40 characters
        ({"valid_from": datetime(2026, 1, 1)}, "valid_from"),
        ({"valid_from": JAN + timedelta(microseconds=1)}, "valid_from"),
        ({"valid_from": "2026-01-01"}, "valid_from"),
    ],
)
def test_a_bad_record_is_refused_naming_the_field(fields: dict[str, Any], field: str) -> None:
    good = {"base": "EUR", "quote": "USD", "rate": "1.08", "valid_from": JAN}
    with pytest.raises(ValueError, match=rf"^{field}: ") as caught:
        ExchangeRate(**(good | fields))
    assert isinstance(caught.value, RateIssues) and len(caught.value.issues) == 1


def test_every_issue_of_a_record_is_reported_at_once() -> None:
    with pytest.raises(RateIssues) as caught:
        ExchangeRate(base="EUX", quote="usd", rate="0", valid_from=datetime(2026, 1, 1))
    fields = [issue.split(":")[0] for issue in caught.value.issues]
    assert fields == ["base", "quote", "rate", "valid_from"]


def test_eighteen_significant_digits_are_enough_leading_and_trailing_zeros_aside() -> None:
    assert record("EUR", "USD", "123456789.123456789").rate == "123456789.123456789"
    assert record("EUR", "USD", "0.000000123456789123456789000").rate == (
        "0.000000123456789123456789"
    )


def test_a_record_decoded_from_json_is_checked_alike() -> None:
    body = b'{"base":"EUR","quote":"USD","rate":"1.0800","valid_from":"2026-01-01T01:00:00+01:00"}'
    assert msgspec.json.decode(body, type=ExchangeRate) == record("EUR", "USD", "1.08")
    with pytest.raises(msgspec.ValidationError, match=r"^rate: must be positive"):
        msgspec.json.decode(body.replace(b"1.0800", b"0.0"), type=ExchangeRate)
    with pytest.raises(msgspec.ValidationError, match="timezone"):
        msgspec.json.decode(body.replace(b"+01:00", b""), type=ExchangeRate)


# -- the book ----------------------------------------------------------------------------


def test_the_newest_record_valid_at_the_instant_applies() -> None:
    book = RateBook([record("EUR", "UZS", "12900", FEB), record("EUR", "UZS", "12850.5", JAN)])
    jan, feb = JAN.timestamp(), FEB.timestamp()
    assert book.rate_at("EUR", "UZS", jan - 0.001) is None
    assert book.rate_at("EUR", "UZS", jan) == (Fraction(25701, 2), "12850.5")
    assert book.rate_at("EUR", "UZS", feb - 0.001) == (Fraction(25701, 2), "12850.5")
    assert book.rate_at("EUR", "UZS", feb) == (Fraction(12900), "12900")
    assert book.rate_at("EUR", "USD", feb) is None
    assert [r.valid_from for r in book.records] == [JAN, FEB]


def test_the_same_currency_is_rate_one_without_a_record() -> None:
    book = RateBook([])
    assert book.rate_at("UZS", "UZS", 0.0) == (1, "1")
    assert book.convert(1_234_567, "UZS", "UZS", 0.0) == (1_234_567, "1")


def test_a_pair_without_a_record_uses_the_exact_inverse_of_the_reverse() -> None:
    book = RateBook([record("EUR", "UZS", "12850.5")])
    rate, text = book.rate_at("UZS", "EUR", JAN.timestamp()) or (None, "")
    assert rate == Fraction(2, 25701)
    assert text == "0.0000778179837360413992"  # 18 significant digits, half to even
    assert book.convert(12_850_500_000, "UZS", "EUR", JAN.timestamp()) == (1_000_000, text)


def test_the_pairs_own_record_wins_over_the_inverse_once_it_applies() -> None:
    book = RateBook([record("USD", "EUR", "0.8", JAN), record("EUR", "USD", "1.2", FEB)])
    assert book.rate_at("EUR", "USD", JAN.timestamp()) == (Fraction(5, 4), "1.25")
    assert book.rate_at("EUR", "USD", FEB.timestamp()) == (Fraction(6, 5), "1.2")
    assert book.rate_at("USD", "EUR", FEB.timestamp()) == (Fraction(4, 5), "0.8")


def test_conversion_rounds_half_to_even_once() -> None:
    book = RateBook([record("EUR", "USD", "0.5")])
    at = JAN.timestamp()
    converted = [book.convert(amount, "EUR", "USD", at)[0] for amount in (1, 3, 5, -3, -5)]
    assert converted == [0, 2, 2, -2, -2]


def test_no_rate_at_the_instant_names_the_pair_and_the_instant() -> None:
    book = RateBook([record("EUR", "UZS", "12850.5", FEB)])
    missing = r"^no exchange rate EUR->UZS valid at 2026-01-01T00:00:00Z$"
    with pytest.raises(MissingRate, match=missing):
        book.convert(1_000_000, "EUR", "UZS", JAN.timestamp())
    with pytest.raises(ValueError, match="GBP->UZS"):
        book.convert(1_000_000, "GBP", "UZS", FEB.timestamp())


@given(amounts, rates_text)
def test_there_and_back_stays_within_rounding(amount: int, rate: str) -> None:
    book = RateBook([record("EUR", "UZS", rate)])
    at = JAN.timestamp()
    there, used = book.convert(amount, "EUR", "UZS", at)
    back, _ = book.convert(there, "UZS", "EUR", at)
    assert type(there) is int and type(back) is int
    assert Fraction(used) == Fraction(rate)
    # Each leg rounds once by at most half a micro-unit; the first leg's error,
    # read back, is divided by the rate.
    assert abs(back - amount) <= Fraction(1, 2) + Fraction(1, 2) / Fraction(rate)


@given(rates_text)
def test_the_inverse_is_exact_and_its_text_has_at_most_18_digits(rate: str) -> None:
    book = RateBook([record("EUR", "USD", rate)])
    inverse, text = book.rate_at("USD", "EUR", JAN.timestamp()) or (Fraction(0), "")
    assert inverse * Fraction(rate) == 1
    significant = re.sub(r"\.", "", text).strip("0")
    assert len(significant) <= 18
    assert abs(Fraction(text) * Fraction(rate) - 1) <= Fraction(1, 10**17)


@given(
    st.dictionaries(st.integers(-(10**6), 10**6), rates_text, max_size=8),
    st.dictionaries(st.integers(-(10**6), 10**6), rates_text, max_size=4),
    st.integers(-(10**6) - 1, 10**6 + 1),
)
def test_the_newest_record_valid_at_the_instant_wins(
    own: dict[int, str], reverse: dict[int, str], minute: int
) -> None:
    def at(minutes: int) -> datetime:
        return JAN + timedelta(minutes=minutes)

    book = RateBook(
        [record("EUR", "USD", rate, at(m)) for m, rate in own.items()]
        + [record("USD", "EUR", rate, at(m)) for m, rate in reverse.items()]
    )
    found = book.rate_at("EUR", "USD", at(minute).timestamp())
    valid_own = [m for m in own if m <= minute]
    valid_reverse = [m for m in reverse if m <= minute]
    if valid_own:
        newest = record("EUR", "USD", own[max(valid_own)])
        assert found == (newest.value, newest.rate)
    elif valid_reverse:
        assert found is not None and found[0] == 1 / Fraction(reverse[max(valid_reverse)])
    else:
        assert found is None


# -- the CSV import ------------------------------------------------------------------------

HEADER = "base,quote,rate,valid_from\n"


def test_a_csv_file_gives_its_records_with_dates_at_midnight_utc() -> None:
    text = (
        "\ufeff Base , QUOTE,rate,valid_from\r\n"
        "EUR,UZS,12850.5,2026-01-01\r\n"
        "\r\n"
        " EUR , USD , 1.08 , 2026-01-01T05:00:00+05:00\r\n"
        "GBP,EUR,1.17,2026-02-01T00:00:00Z\r\n"
    )
    assert parse_rates_csv(text) == [
        record("EUR", "UZS", "12850.5", JAN),
        record("EUR", "USD", "1.08", JAN),
        record("GBP", "EUR", "1.17", FEB),
    ]
    assert parse_rates_csv(HEADER) == []


def test_every_bad_row_is_reported_at_once_by_line_and_field() -> None:
    text = (
        HEADER
        + "EUR,UZS,12850.5,2026-01-01\n"
        + "EUX,UZS,x,2026-13-01\n"
        + "\n"
        + "EUR,EUR,1,2026-01-01T00:00\n"
        + "EUR,USD\n"
        + "EUR,USD,1.08,2026-01-01T00:00:00.0001Z\n"
    )
    with pytest.raises(RateIssues) as caught:
        parse_rates_csv(text)
    assert [issue.split(": ")[:2] for issue in caught.value.issues] == [
        ["line 3", "base"],
        ["line 3", "rate"],
        ["line 3", "valid_from"],
        ["line 5", "quote"],
        ["line 5", "valid_from"],
        ["line 6", "row"],
        ["line 7", "valid_from"],
    ]
    assert str(caught.value).startswith("line 3: base: unknown currency 'EUX' (")


@pytest.mark.parametrize("text", ["", "base,quote,rate\n", "quote,base,rate,valid_from\n"])
def test_a_file_without_the_header_is_refused(text: str) -> None:
    with pytest.raises(RateIssues, match=r"^line 1: header: must be base,quote,rate,valid_from"):
        parse_rates_csv(text)


def test_a_file_is_bounded_in_rows_and_in_the_issues_it_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rates, "MAX_CSV_ROWS", 3)
    monkeypatch.setattr(input_issues, "MAX_ISSUES", 2)
    assert len(parse_rates_csv(HEADER + "EUR,USD,1.08,2026-01-01\n" * 3)) == 3
    with pytest.raises(ValueError, match=r"^more than 3 rows"):
        parse_rates_csv(HEADER + "EUR,USD,1.08,2026-01-01\n" * 4)
    with pytest.raises(RateIssues) as caught:
        parse_rates_csv(HEADER + "EUR,USD,0,2026-01-01\n" * 3)
    assert caught.value.issues[-1] == "and 1 more issue(s)"
    assert len(caught.value.issues) == 3


def test_a_malformed_csv_names_its_line() -> None:
    with pytest.raises(RateIssues, match=r"^line 2: csv: field larger than field limit"):
        parse_rates_csv(HEADER + "EUR,USD," + "1" * 200_000 + ",2026-01-01\n")
