"""Exchange rates: dated records, and the book that converts with them at an instant.

A record says one ``base`` unit is worth ``rate`` ``quote`` units from
``valid_from`` (UTC) until the pair's next record; records are never edited
(docs/billing.md, "Exchange rates"). A pair with no record valid at an instant
uses the exact inverse of the reverse pair's record valid then.

The book is read at accept, per message, so it is compiled as tariffs are
(`router.tariffs`): per ordered pair, the instants its rate changes at and the
rate from each, read with one ``bisect``; the same currency, the common case,
costs one comparison.
"""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import Annotated

import msgspec
from msgspec import Meta
from msgspec.structs import force_setattr

from engine.billing.currencies import check_currency, round_half_even, shown
from engine.input_issues import InputIssues

MAX_SIGNIFICANT_DIGITS = 18
"""Of a rate: as many as a bank quotes and more, and within what int64 and
NUMERIC columns downstream hold exactly."""
MAX_RATE_LENGTH = 40
"""Characters of a rate as written, leading and trailing zeros included."""
MAX_CSV_ROWS = 100_000
CSV_HEADER = ("base", "quote", "rate", "valid_from")

_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

Code = Annotated[
    str, Meta(pattern=r"^[A-Z]{3}$", description="An ISO 4217 alpha-3 code, e.g. EUR.")
]
RateText = Annotated[
    str,
    Meta(
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        max_length=MAX_RATE_LENGTH,
        description="A positive decimal, e.g. 12850.5, at most 18 significant digits.",
    ),
]
Rate = tuple[Fraction, str]
"""A rate as the book gives it: the exact value converted with, and its decimal text."""
_SAME: Rate = (Fraction(1), "1")


class RateIssues(InputIssues):
    """Everything wrong with a record (``field: why``) or a file (``line N: field: why``)."""


class MissingRate(ValueError):
    """No rate of the pair, nor of its reverse, is valid at the instant: the
    message is refused, nothing held."""

    def __init__(self, base: str, quote: str, at: float) -> None:
        self.base = base
        self.quote = quote
        self.at = at
        when = datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
        super().__init__(f"no exchange rate {base}->{quote} valid at {when}")


class ExchangeRate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One base unit is worth rate quote units from valid_from on, until the
    pair's next record.

    The rate is kept in its plain form ("12850.5", not "012850.50") and the
    instant in UTC, so records of equal value are equal (and a store compares
    them as text). Checked when built and when decoded (`RateIssues`).
    """

    base: Code
    quote: Code
    rate: RateText
    valid_from: Annotated[
        datetime,
        Meta(
            tz=True,
            description="With a time zone (kept in UTC); at most millisecond precision.",
        ),
    ]

    def __post_init__(self) -> None:
        issues = (
            _pair_issues(self.base, self.quote)
            + _rate_issues(self.rate)
            + _instant_issues(self.valid_from)
        )
        if issues:
            raise RateIssues(issues)
        force_setattr(self, "rate", _plain(self.rate))
        force_setattr(self, "valid_from", self.valid_from.astimezone(UTC))

    @property
    def value(self) -> Fraction:
        return Fraction(self.rate)


class RateBook:
    """The records of every pair, compiled to be read per message.

    `rate_at` gives a `Rate`: its Fraction is what converts, exactly; its text
    is what a message row records, the record's own rate, or for an inverse
    the Fraction rounded half to even to 18 significant digits.
    """

    __slots__ = ("_schedules", "records")

    def __init__(self, records: Iterable[ExchangeRate]) -> None:
        self.records = tuple(sorted(records, key=_order))
        direct: dict[tuple[str, str], list[tuple[float, Rate]]] = {}
        for record in self.records:
            step = (record.valid_from.timestamp(), (record.value, record.rate))
            direct.setdefault((record.base, record.quote), []).append(step)
        pairs = set(direct) | {(quote, base) for base, quote in direct}
        self._schedules: dict[tuple[str, str], tuple[tuple[float, ...], tuple[Rate, ...]]] = {}
        for base, quote in pairs:
            own = direct.get((base, quote), [])
            first = own[0][0] if own else float("inf")
            inverse = [(at, _inverse(rate)) for at, rate in direct.get((quote, base), [])]
            steps = [step for step in inverse if step[0] < first] + own
            self._schedules[base, quote] = (
                tuple(at for at, _ in steps),
                tuple(rate for _, rate in steps),
            )

    def rate_at(self, base: str, quote: str, at: float) -> Rate | None:
        """The rate of ``base`` in ``quote`` at POSIX time ``at``: the pair's
        record with the newest ``valid_from`` <= ``at``, else the inverse of the
        reverse pair's such record; 1 for the same currency; None without one."""
        if base == quote:
            return _SAME
        schedule = self._schedules.get((base, quote))
        if schedule is None:
            return None
        instants, rates = schedule
        index = bisect_right(instants, at)
        return rates[index - 1] if index else None

    def convert(self, amount: int, base: str, quote: str, at: float) -> tuple[int, str]:
        """``amount`` of ``base`` in ``quote`` at ``at``, rounded half to even
        to an int of micro-units, and the rate's text; `MissingRate` without one."""
        if base == quote:
            return amount, "1"
        found = self.rate_at(base, quote, at)
        if found is None:
            raise MissingRate(base, quote, at)
        rate, text = found
        return round_half_even(amount * rate.numerator, rate.denominator), text


def parse_rates_csv(text: str) -> list[ExchangeRate]:
    """Records from a CSV file with the header ``base,quote,rate,valid_from``;
    ``valid_from`` is ISO 8601 with a zone, or a date alone for 00:00 UTC.

    Every bad row is reported at once (`RateIssues`, lines ``line N: field:
    why``) and then nothing is taken; a file of more than `MAX_CSV_ROWS` rows
    is refused before it is all read."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, [])
        if [name.strip().lower() for name in header] != list(CSV_HEADER):
            expected = ",".join(CSV_HEADER)
            raise RateIssues([f"line 1: header: must be {expected}, got {shown(','.join(header))}"])
        records: list[ExchangeRate] = []
        issues: list[str] = []
        rows = 0
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            if rows > MAX_CSV_ROWS:
                raise ValueError(f"more than {MAX_CSV_ROWS} rows: import them in several files")
            try:
                records.append(_row_record(row))
            except RateIssues as exc:
                issues.extend(f"line {reader.line_num}: {issue}" for issue in exc.issues)
    except csv.Error as exc:
        raise RateIssues([f"line {reader.line_num}: csv: {exc}"]) from exc
    if issues:
        raise RateIssues(issues)
    return records


def _row_record(row: list[str]) -> ExchangeRate:
    if len(row) != len(CSV_HEADER):
        raise RateIssues([f"row: expected {len(CSV_HEADER)} columns, got {len(row)}"])
    base, quote, rate, when = (cell.strip() for cell in row)
    issues = _pair_issues(base, quote) + _rate_issues(rate)
    try:
        valid_from = _instant(when)
    except ValueError as exc:
        issues.append(str(exc))
    else:
        issues += _instant_issues(valid_from)
    if issues:
        raise RateIssues(issues)
    return ExchangeRate(base=base, quote=quote, rate=rate, valid_from=valid_from)


def _instant(text: str) -> datetime:
    """A CSV ``valid_from``: a date alone is 00:00 UTC; a time needs its zone."""
    try:
        if _DATE.fullmatch(text):
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"valid_from: {shown(text)} is not an ISO 8601 date or time"
            " (2026-12-01 or 2026-12-01T00:00:00Z)"
        ) from None
    if instant.tzinfo is None:
        raise ValueError(f"valid_from: {shown(text)} has no time zone (add Z for UTC)")
    return instant


def _pair_issues(base: object, quote: object) -> list[str]:
    issues = []
    for field, code in (("base", base), ("quote", quote)):
        try:
            check_currency(code, field)
        except ValueError as exc:
            issues.append(str(exc))
    if not issues and base == quote:
        issues.append(f"quote: the same currency as base ({base}); its rate is always 1")
    return issues


def _rate_issues(rate: object) -> list[str]:
    if (
        not isinstance(rate, str)
        or len(rate) > MAX_RATE_LENGTH
        or (match := _DECIMAL.fullmatch(rate)) is None
    ):
        return [
            f"rate: {shown(rate)} is not a decimal like 12850.5"
            f" (digits and one optional point, at most {MAX_RATE_LENGTH} characters)"
        ]
    significant = (match[1] + (match[2] or "").rstrip("0")).lstrip("0")
    if not significant:
        return [f"rate: must be positive, got {shown(rate)}"]
    if len(significant) > MAX_SIGNIFICANT_DIGITS:
        return [
            f"rate: {shown(rate)} has {len(significant)} significant digits,"
            f" at most {MAX_SIGNIFICANT_DIGITS}"
        ]
    return []


def _instant_issues(valid_from: object) -> list[str]:
    if not isinstance(valid_from, datetime):
        return [f"valid_from: {shown(valid_from)} is not a date and time"]
    if valid_from.utcoffset() is None:
        return [f"valid_from: {valid_from.isoformat()} has no time zone (add Z for UTC)"]
    if valid_from.microsecond % 1000:
        return [f"valid_from: {valid_from.isoformat()} is more precise than a millisecond"]
    try:
        valid_from.astimezone(UTC)
    except OverflowError:
        return [f"valid_from: {valid_from.isoformat()} is out of range in UTC"]
    return []


def _plain(rate: str) -> str:
    """A checked rate without leading zeros nor trailing zeros after the point."""
    whole, _, fraction = rate.partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def _inverse(rate: Rate) -> Rate:
    """The exact inverse, with its text rounded half to even to 18 significant digits."""
    inverse = 1 / rate[0]
    with localcontext(prec=MAX_SIGNIFICANT_DIGITS, rounding=ROUND_HALF_EVEN):
        text = Decimal(inverse.numerator) / Decimal(inverse.denominator)
    return inverse, _plain(format(text, "f"))


def _order(record: ExchangeRate) -> tuple[str, str, datetime]:
    return record.base, record.quote, record.valid_from
