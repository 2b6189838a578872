"""Billing periods: half-open UTC intervals, a calendar month by default."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


class Period(msgspec.Struct, frozen=True):
    """[start, end) in UTC; a message belongs to the period of its accept time."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("period: start and end must carry a time zone")
        if not self.start < self.end:
            raise ValueError(f"period: start {self.start} must be before end {self.end}")

    @property
    def label(self) -> str:
        """ "2026-12" for a calendar month, else "start/end" in ISO 8601."""
        start, end = self.start.astimezone(UTC), self.end.astimezone(UTC)
        if start == month_start(start) and end == _next_month(start):
            return f"{start.year:04d}-{start.month:02d}"
        return f"{start.isoformat()}/{end.isoformat()}"


def month(text: str) -> Period:
    """The calendar month "YYYY-MM" in UTC; a ValueError names the expected form."""
    match = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"month must be YYYY-MM (e.g. 2026-12), got {text!r}")
    start = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
    return Period(start, _next_month(start))


def month_start(instant: datetime) -> datetime:
    instant = instant.astimezone(UTC)
    return datetime(instant.year, instant.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    if start.month == 12:
        return datetime(start.year + 1, 1, 1, tzinfo=UTC)
    return datetime(start.year, start.month + 1, 1, tzinfo=UTC)
