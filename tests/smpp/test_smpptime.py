"""SMPP absolute and relative time formats (SMPP 3.4 §7.1.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp.errors import SmppError
from smpp.smpptime import (
    MAX_QUARTER_HOURS,
    RelativeTime,
    SmppTimeError,
    expiry_from_validity,
    format_absolute,
    format_relative,
    parse_absolute,
    parse_relative,
    parse_smpp_time,
    relative_from_timedelta,
    resolve_smpp_time,
)

PROPERTY = settings(max_examples=200, deadline=None)
NOW = datetime(2024, 1, 15, 8, 30, tzinfo=UTC)

# Instants whose wall clock stays inside 2000-2099 in every zone of ±12 h.
INSTANTS = st.builds(
    lambda moment, tenths: moment.replace(microsecond=tenths * 100_000, tzinfo=UTC),
    st.datetimes(min_value=datetime(2000, 1, 1, 12), max_value=datetime(2099, 12, 31, 11)),
    st.integers(0, 9),
)
QUARTERS = st.integers(-MAX_QUARTER_HOURS, MAX_QUARTER_HOURS)
RELATIVE_TIMES = st.builds(
    RelativeTime,
    years=st.integers(0, 99),
    months=st.integers(0, 99),
    days=st.integers(0, 99),
    hours=st.integers(0, 99),
    minutes=st.integers(0, 99),
    seconds=st.integers(0, 99),
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- absolute time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # UTC itself, either sign.
        ("240115083000000+", utc(2024, 1, 15, 8, 30)),
        ("240115083000000-", utc(2024, 1, 15, 8, 30)),
        # Local time 3 h ahead of UTC (12 quarter hours, '+'), tenths kept.
        ("180711070003912+", utc(2018, 7, 11, 4, 0, 3, 900_000)),
        # 12 h behind UTC on a leap day: UTC is already the next morning.
        ("240229235959548-", utc(2024, 3, 1, 11, 59, 59, 500_000)),
        # Quarter-hour zones: +05:45 (23) and -03:30 (14).
        ("250630120000023+", utc(2025, 6, 30, 6, 15)),
        ("250630120000014-", utc(2025, 6, 30, 15, 30)),
        # Edges of the century: 00 is 2000, 99 is 2099.
        ("000101000000004+", utc(1999, 12, 31, 23)),
        ("991231235959900+", utc(2099, 12, 31, 23, 59, 59, 900_000)),
    ],
)
def test_parse_absolute_golden(text: str, expected: datetime) -> None:
    parsed = parse_absolute(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "quarters", "expected"),
    [
        (utc(2024, 1, 15, 8, 30), 0, "240115083000000+"),
        (utc(2018, 7, 11, 4, 0, 3, 900_000), 12, "180711070003912+"),
        (utc(2024, 3, 1, 11, 59, 59, 500_000), -48, "240229235959548-"),
        (utc(2025, 6, 30, 6, 15), 23, "250630120000023+"),
        # Another zone on input changes nothing: the instant is what counts.
        (datetime(2024, 1, 15, 11, 30, tzinfo=timezone(timedelta(hours=3))), 0, "240115083000000+"),
        # Below a tenth is floored, never rounded up into the next second.
        (utc(2024, 1, 15, 8, 30, 59, 999_999), 0, "240115083059900+"),
    ],
)
def test_format_absolute_golden(moment: datetime, quarters: int, expected: str) -> None:
    assert format_absolute(moment, quarters) == expected


def test_every_quarter_hour_offset_and_tenth_round_trips() -> None:
    base = utc(2030, 6, 15, 12, 7, 42)
    for quarters in range(-MAX_QUARTER_HOURS, MAX_QUARTER_HOURS + 1):
        for tenths in range(10):
            moment = base.replace(microsecond=tenths * 100_000)
            text = format_absolute(moment, quarters)
            assert text[12] == str(tenths)
            assert text[13:] == f"{abs(quarters):02d}{'-' if quarters < 0 else '+'}"
            assert parse_absolute(text) == moment


@PROPERTY
@given(INSTANTS, QUARTERS)
def test_format_then_parse_absolute_is_identity(moment: datetime, quarters: int) -> None:
    assert parse_absolute(format_absolute(moment, quarters)) == moment


@PROPERTY
@given(INSTANTS, QUARTERS)
def test_parse_then_format_absolute_gives_the_text_back(moment: datetime, quarters: int) -> None:
    text = format_absolute(moment, quarters)
    assert format_absolute(parse_absolute(text), quarters) == text


@pytest.mark.parametrize(
    "text",
    [
        "24011508300000+",  # 15 characters
        "2401150830000000+",  # 17 characters
        "2401150830000 0+",  # a space among the digits
        "24O115083000000+",  # letter O for zero
        "\uff12\uff140115083000000+",  # fullwidth digits: str.isdigit says yes, SMPP no
        "240115083000000*",  # neither '+' nor '-'
        "240115083000049+",  # 49 quarter hours
        "240115083000099-",
        "240230120000000+",  # 30 February
        "230229120000000+",  # 29 February of a common year
        "241301120000000+",  # month 13
        "240001120000000+",  # month 0
        "240100120000000+",  # day 0
        "240115240000000+",  # hour 24
        "240115086000000+",  # minute 60
        "240115083060000+",  # second 60
    ],
)
def test_parse_absolute_rejects(text: str) -> None:
    with pytest.raises(SmppTimeError):
        parse_absolute(text)


def test_format_absolute_rejects_bad_arguments() -> None:
    with pytest.raises(SmppTimeError):
        format_absolute(NOW, 49)
    with pytest.raises(SmppTimeError):
        format_absolute(NOW, -49)
    with pytest.raises(SmppTimeError, match="outside"):
        format_absolute(utc(2100, 1, 1))
    with pytest.raises(SmppTimeError, match="outside"):
        format_absolute(utc(2099, 12, 31, 23), 4)  # 2100 on the local clock
    with pytest.raises(ValueError, match="timezone-aware"):
        format_absolute(datetime(2024, 1, 15))


# --- relative time -------------------------------------------------------------


def test_parse_relative_spec_example() -> None:
    # §7.1.1.2: 2 years, 6 months, 10 days, 23 hours, 34 minutes, 29 seconds.
    assert parse_relative("020610233429000R") == RelativeTime(
        years=2, months=6, days=10, hours=23, minutes=34, seconds=29
    )
    assert resolve_smpp_time("020610233429000R", utc(2024, 1, 15)) == utc(2026, 7, 25, 23, 34, 29)


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (
            RelativeTime(years=2, months=6, days=10, hours=23, minutes=34, seconds=29),
            "020610233429000R",
        ),
        (RelativeTime(), "000000000000000R"),
        (timedelta(minutes=10), "000000001000000R"),
        (timedelta(hours=48), "000002000000000R"),
        (timedelta(days=1, hours=1, minutes=1, seconds=1), "000001010101000R"),
        (timedelta(days=99, seconds=86399), "000099235959000R"),
    ],
)
def test_format_relative_golden(period: RelativeTime | timedelta, expected: str) -> None:
    assert format_relative(period) == expected


def test_relative_fields_are_not_bounded_by_the_calendar() -> None:
    # 48 hours and 90 minutes are sent as such by real ESMEs; each field is two digits.
    period = parse_relative("000000489000000R")
    assert period == RelativeTime(hours=48, minutes=90)
    assert period.resolve(NOW) == NOW + timedelta(hours=49, minutes=30)


@PROPERTY
@given(RELATIVE_TIMES)
def test_format_then_parse_relative_is_identity(period: RelativeTime) -> None:
    assert parse_relative(format_relative(period)) == period


@PROPERTY
@given(st.integers(0, 100 * 86400 - 1))
def test_timedelta_survives_format_and_resolve(seconds: int) -> None:
    period = timedelta(seconds=seconds)
    assert resolve_smpp_time(format_relative(period), NOW) == NOW + period


@pytest.mark.parametrize(
    ("now", "period", "expected"),
    [
        # A day past the end of the target month is clamped to its last day.
        (utc(2024, 1, 31, 10), RelativeTime(months=1), utc(2024, 2, 29, 10)),
        (utc(2023, 1, 31, 10), RelativeTime(months=1), utc(2023, 2, 28, 10)),
        (utc(2024, 3, 31), RelativeTime(months=11), utc(2025, 2, 28)),
        (utc(2024, 2, 29), RelativeTime(years=1), utc(2025, 2, 28)),
        (utc(2024, 2, 29), RelativeTime(years=4), utc(2028, 2, 29)),
        # Months carry into years.
        (utc(2024, 12, 31), RelativeTime(months=13), utc(2026, 1, 31)),
        (utc(2024, 5, 15), RelativeTime(months=99), utc(2032, 8, 15)),
        # Calendar first, then exact durations: 31 Jan + 1 month = 29 Feb, + 1 day = 1 Mar.
        (utc(2024, 1, 31), RelativeTime(months=1, days=1), utc(2024, 3, 1)),
        (utc(2024, 12, 31, 23, 59, 59), RelativeTime(seconds=1), utc(2025, 1, 1)),
    ],
)
def test_relative_resolves_with_calendar_arithmetic(
    now: datetime, period: RelativeTime, expected: datetime
) -> None:
    assert period.resolve(now) == expected


def test_relative_resolves_in_utc_whatever_the_zone_of_now() -> None:
    now = datetime(2024, 1, 31, 23, 0, tzinfo=timezone(timedelta(hours=-3)))  # 1 Feb 02:00 UTC
    resolved = RelativeTime(months=1).resolve(now)
    assert resolved == utc(2024, 3, 1, 2)
    assert resolved.tzinfo is UTC


def test_relative_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        RelativeTime(days=1).resolve(datetime(2024, 1, 15))


@pytest.mark.parametrize(
    "text",
    [
        "020610233429001R",  # tenths must be 0
        "020610233429100R",
        "020610233429000r",  # lower-case r is not R
        "02061023342900R",  # 15 characters
        "0206102334290000R",  # 17 characters
        "0206102334x9000R",
        "-20610233429000R",
        "\uff1020610233429000R",
    ],
)
def test_parse_relative_rejects(text: str) -> None:
    with pytest.raises(SmppTimeError):
        parse_relative(text)


@pytest.mark.parametrize(
    "fields",
    [{"days": 100}, {"seconds": -1}, {"years": True}, {"hours": 1.5}],
)
def test_relative_time_rejects_fields_out_of_range(fields: dict[str, object]) -> None:
    with pytest.raises(SmppTimeError):
        RelativeTime(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "period",
    [timedelta(seconds=-1), timedelta(milliseconds=1500), timedelta(days=100)],
)
def test_relative_from_timedelta_rejects_what_has_no_exact_form(period: timedelta) -> None:
    with pytest.raises(SmppTimeError):
        relative_from_timedelta(period)


# --- either format -------------------------------------------------------------


def test_empty_means_not_set() -> None:
    assert parse_smpp_time("") is None
    assert resolve_smpp_time("", NOW) is None


def test_parse_smpp_time_dispatches_on_the_last_character() -> None:
    assert parse_smpp_time("000001000000000R") == RelativeTime(days=1)
    assert parse_smpp_time("240115083000000+") == NOW
    assert resolve_smpp_time("240115083000000+", utc(2000, 1, 1)) == NOW
    assert resolve_smpp_time("000001000000000R", NOW) == NOW + timedelta(days=1)


@pytest.mark.parametrize("text", ["R", "1R", "0", "not a time at all", "240115083000000"])
def test_parse_smpp_time_rejects_garbage(text: str) -> None:
    with pytest.raises(SmppTimeError):
        parse_smpp_time(text)


def test_error_is_an_smpp_error_and_a_value_error() -> None:
    with pytest.raises(SmppError):
        parse_absolute("")
    assert issubclass(SmppTimeError, ValueError)


# --- validity period -> expiry -------------------------------------------------

DEFAULT = timedelta(hours=48)
MAXIMUM = timedelta(days=7)


def expiry(validity_period: str) -> datetime:
    return expiry_from_validity(validity_period, NOW, default=DEFAULT, maximum=MAXIMUM)


def test_empty_validity_takes_the_default() -> None:
    assert expiry("") == NOW + DEFAULT


def test_relative_validity_counts_from_now() -> None:
    assert expiry("000000010000000R") == NOW + timedelta(hours=1)


def test_absolute_validity_is_kept_exactly() -> None:
    assert expiry("240116120000504+") == utc(2024, 1, 16, 11, 0, 0, 500_000)


def test_validity_beyond_the_maximum_is_cut_to_it() -> None:
    assert expiry("000100000000000R") == NOW + MAXIMUM
    assert expiry("250101000000000+") == NOW + MAXIMUM


@pytest.mark.parametrize(
    "validity_period",
    [
        "000000000000000R",  # ends now
        "240115083000000+",  # exactly now
        "240115082959900+",  # a tenth ago
        "230101000000000+",
    ],
)
def test_validity_that_ends_by_now_is_rejected(validity_period: str) -> None:
    with pytest.raises(SmppTimeError, match="not later"):
        expiry(validity_period)


def test_malformed_validity_is_rejected() -> None:
    with pytest.raises(SmppTimeError):
        expiry("000001000000001R")


def test_expiry_limits_must_make_sense() -> None:
    with pytest.raises(ValueError, match="default <= maximum"):
        expiry_from_validity("", NOW, default=timedelta(days=8), maximum=MAXIMUM)
    with pytest.raises(ValueError, match="default <= maximum"):
        expiry_from_validity("", NOW, default=timedelta(0), maximum=MAXIMUM)
