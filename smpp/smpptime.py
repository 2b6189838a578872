"""SMPP time formats (SMPP 3.4 §7.1.1), parsed and produced exactly.

An absolute time ``YYMMDDhhmmsstnnp`` is a local wall-clock time with tenths of a
second and its distance from UTC in quarter hours (``nn`` 00-48, ``p`` '+' when
local time is ahead of UTC, '-' when behind). A relative time ``YYMMDDhhmmss000R``
is an offset from the SMSC's "now". An empty field means "not set": deliver at
once (schedule_delivery_time) or use the SMSC default (validity_period).

Every time leaves this module as an aware UTC ``datetime``. SMPP carries no
century, so ``YY`` is read as 2000-2099.

`SmppTimeError` carries no command_status on purpose: the same text is an
``ESME_RINVSCHED`` in schedule_delivery_time and an ``ESME_RINVEXPIRY`` in
validity_period, and only the caller knows which field it read.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

import msgspec

from smpp.errors import SmppError

TIME_LENGTH = 16
"""Both formats are 16 characters (§7.1.1); the C-string adds a NUL on the wire."""

CENTURY = 2000
"""Added to the two-digit year of an absolute time or a receipt date."""

MAX_QUARTER_HOURS = 48
"""Largest ``nn`` of an absolute time: twelve hours either side of UTC (§7.1.1.1)."""

MAX_RELATIVE_FIELD = 99
"""Each field of a relative time is two digits; none is bounded by a calendar."""

_QUARTER_HOUR = timedelta(minutes=15)
_TENTH_US = 100_000
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_RELATIVE_SUFFIX = "000R"


class SmppTimeError(SmppError, ValueError):
    """An SMPP time field that breaks §7.1.1, or a time that cannot be written in it."""


class RelativeTime(msgspec.Struct, frozen=True, kw_only=True):
    """A relative time (§7.1.1.2), kept as its six fields.

    It is not a ``timedelta`` because a year or a month has no fixed length: the
    offset only becomes a duration once it is added to a given "now".
    """

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= MAX_RELATIVE_FIELD:
                raise SmppTimeError(f"relative {name} must be an int 0-99, got {value!r}")

    def resolve(self, now: datetime) -> datetime:
        """The UTC instant this offset names, counted from ``now``.

        Calendar arithmetic, as SMSCs do it: years and months move the date first
        and a day past the end of the target month is clamped to its last day
        (31 Jan + 1 month = 28 or 29 Feb); days, hours, minutes and seconds are
        then added as exact durations. The arithmetic runs in UTC.
        """
        start = as_utc(now)
        month_index = start.month - 1 + self.months
        year = start.year + self.years + month_index // 12
        month = month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        moved = start.replace(year=year, month=month, day=day)
        return moved + timedelta(
            days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is a programming error, not bad input."""
    if moment.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


def parse_absolute(text: str) -> datetime:
    """Parse ``YYMMDDhhmmsstnnp`` (§7.1.1.1) into an aware UTC datetime."""
    if len(text) != TIME_LENGTH or not _DIGITS.fullmatch(text, 0, 15) or text[15] not in "+-":
        raise SmppTimeError(f"absolute time must be 15 digits then '+' or '-': {text!r:.40}")
    quarters = int(text[13:15])
    if quarters > MAX_QUARTER_HOURS:
        raise SmppTimeError(f"UTC offset {quarters} quarter hours exceeds 48 in {text!r}")
    try:
        local = datetime(
            CENTURY + int(text[0:2]),
            int(text[2:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12]) * _TENTH_US,
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise SmppTimeError(f"absolute time {text!r} is not a real date: {exc}") from None
    offset = quarters * _QUARTER_HOUR
    return local - offset if text[15] == "+" else local + offset


def parse_relative(text: str) -> RelativeTime:
    """Parse ``YYMMDDhhmmss000R`` (§7.1.1.2); resolve it with `RelativeTime.resolve`."""
    if len(text) != TIME_LENGTH or not _DIGITS.fullmatch(text, 0, 12):
        raise SmppTimeError(f"relative time must be 12 digits then '000R': {text!r:.40}")
    if text[12:] != _RELATIVE_SUFFIX:
        raise SmppTimeError(f"relative time must end in '000R': {text!r}")
    return RelativeTime(
        years=int(text[0:2]),
        months=int(text[2:4]),
        days=int(text[4:6]),
        hours=int(text[6:8]),
        minutes=int(text[8:10]),
        seconds=int(text[10:12]),
    )


def parse_smpp_time(text: str) -> datetime | RelativeTime | None:
    """Parse either format by its last character; ``None`` for an empty field."""
    if not text:
        return None
    if text[-1] == "R":
        return parse_relative(text)
    return parse_absolute(text)


def resolve_smpp_time(text: str, now: datetime) -> datetime | None:
    """The UTC instant a schedule_delivery_time or validity_period names.

    A relative time counts from ``now``; ``None`` means the field was empty.
    """
    value = parse_smpp_time(text)
    if isinstance(value, RelativeTime):
        return value.resolve(now)
    return value


def format_absolute(moment: datetime, quarter_hours: int = 0) -> str:
    """Write ``moment`` as ``YYMMDDhhmmsstnnp`` in the zone ``quarter_hours`` from UTC.

    ``quarter_hours`` is signed (-48..48); its sign gives ``p``. Precision below a
    tenth of a second is dropped (floored), since the format cannot carry it.
    """
    if type(quarter_hours) is not int or abs(quarter_hours) > MAX_QUARTER_HOURS:
        raise SmppTimeError(f"UTC offset must be -48..48 quarter hours, got {quarter_hours!r}")
    local = as_utc(moment) + quarter_hours * _QUARTER_HOUR
    if not CENTURY <= local.year < CENTURY + 100:
        raise SmppTimeError(f"{local.isoformat()} is outside the years SMPP can write")
    sign = "-" if quarter_hours < 0 else "+"
    tenths = local.microsecond // _TENTH_US
    return (
        f"{local.year % 100:02d}{local.month:02d}{local.day:02d}"
        f"{local.hour:02d}{local.minute:02d}{local.second:02d}"
        f"{tenths}{abs(quarter_hours):02d}{sign}"
    )


def relative_from_timedelta(period: timedelta) -> RelativeTime:
    """Express a duration in days, hours, minutes and seconds.

    Only whole seconds from 0 to 99 days fit: months and years are calendar
    units, so a longer duration has no exact relative form.
    """
    if period < timedelta(0) or period.microseconds:
        raise SmppTimeError(f"relative time must be whole non-negative seconds, got {period}")
    if period.days > MAX_RELATIVE_FIELD:
        raise SmppTimeError(f"relative time of {period.days} days exceeds 99 days")
    hours, rest = divmod(period.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return RelativeTime(days=period.days, hours=hours, minutes=minutes, seconds=seconds)


def format_relative(period: RelativeTime | timedelta) -> str:
    """Write ``YYMMDDhhmmss000R`` (§7.1.1.2) from its fields or from a duration."""
    if isinstance(period, timedelta):
        period = relative_from_timedelta(period)
    return (
        f"{period.years:02d}{period.months:02d}{period.days:02d}"
        f"{period.hours:02d}{period.minutes:02d}{period.seconds:02d}{_RELATIVE_SUFFIX}"
    )


def expiry_from_validity(
    validity_period: str, now: datetime, *, default: timedelta, maximum: timedelta
) -> datetime:
    """The UTC instant a message stops being worth delivering.

    An empty validity_period takes ``default`` (the SMSC default validity, §5.2.16);
    a longer one than ``maximum`` is cut down to it, as SMSCs do rather than
    refuse; one that ends at or before ``now`` is an error (ESME_RINVEXPIRY for
    the caller).
    """
    if default <= timedelta(0) or maximum < default:
        raise ValueError(f"need 0 < default <= maximum, got {default} and {maximum}")
    start = as_utc(now)
    expiry = resolve_smpp_time(validity_period, start)
    if expiry is None:
        return start + default
    if expiry <= start:
        raise SmppTimeError(f"validity period {validity_period!r} ends at {expiry}, not later")
    return min(expiry, start + maximum)
