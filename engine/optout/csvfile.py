"""Opt-out lists as CSV files: what an export writes and an import reads.

An export is ``number,added_at,source`` (``added_at`` RFC 3339 UTC). An
import takes that file back, or any file whose header names a ``number``
column (``added_at`` optional, kept so a migrated list keeps its dates;
``source`` read and ignored: every imported number is ``import``), or a
bare column of numbers without a header. Every bad row is reported with
its line at once, and then nothing is taken.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime

from engine.input_issues import InputIssues
from engine.optout.numbers import BadNumber, check_number
from engine.optout.store import Entry

HEADER = ("number", "added_at", "source")
MAX_ROWS = 100_000
"""Issues a refusal lists; the rest are counted."""


class OptOutIssues(InputIssues):
    """Every issue of an import file or a request's numbers."""


def parse_optout_csv(text: str, now_ms: int) -> list[Entry]:
    """The entries of an import file, each number once; `OptOutIssues` else.
    A file of more than `MAX_ROWS` rows is refused before it is all read."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    entries: dict[str, Entry] = {}
    issues: list[str] = []
    try:
        columns: dict[str, int] | None = None
        for row in reader:
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if columns is None:
                columns = _columns(cells, reader.line_num)
                if columns is not _BARE:
                    continue
            if len(entries) >= MAX_ROWS:
                raise OptOutIssues([f"more than {MAX_ROWS} rows: import them in several files"])
            try:
                entry = _entry(cells, columns, now_ms)
            except OptOutIssues as exc:
                issues += [f"line {reader.line_num}: {issue}" for issue in exc.issues]
            else:
                entries.setdefault(entry.number, entry)
    except csv.Error as exc:
        raise OptOutIssues([f"line {reader.line_num}: csv: {exc}"]) from exc
    if issues:
        raise OptOutIssues(issues)
    return list(entries.values())


_BARE = {"number": 0}
"""The columns of a file without a header: numbers alone."""


def _columns(cells: list[str], line: int) -> dict[str, int]:
    """Where each known column is, from the header (or a bare first number)."""
    if cells[0].removeprefix("+").isdigit() and len(cells) == 1:
        return _BARE
    names = [cell.lower() for cell in cells]
    unknown = [name for name in names if name not in HEADER]
    if unknown or "number" not in names or len(set(names)) < len(names):
        expected = ", ".join(HEADER)
        raise OptOutIssues(
            [f"line {line}: header: a number column, and only {expected}; got {','.join(cells)}"]
        )
    return {name: index for index, name in enumerate(names)}


def _entry(cells: list[str], columns: dict[str, int], now_ms: int) -> Entry:
    if len(cells) != len(columns):
        raise OptOutIssues([f"row: expected {len(columns)} column(s), got {len(cells)}"])
    issues = []
    number = ""
    try:
        number = check_number(cells[columns["number"]])
    except BadNumber as exc:
        issues.append(str(exc))
    added_at = now_ms
    if "added_at" in columns and cells[columns["added_at"]]:
        try:
            added_at = _milliseconds(cells[columns["added_at"]])
        except ValueError as exc:
            issues.append(f"added_at: {exc}")
    if issues:
        raise OptOutIssues(issues)
    return Entry(number, added_at, "import")


def _milliseconds(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} must say its offset (Z for UTC)")
    return int(moment.timestamp() * 1000)


def header_line() -> str:
    return ",".join(HEADER) + "\r\n"


def csv_lines(entries: Iterable[Entry]) -> str:
    """Rows of an export, with CRLF line ends (RFC 4180)."""
    return "".join(f"{e.number},{_rfc3339(e.added_at)},{e.source}\r\n" for e in entries)


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
