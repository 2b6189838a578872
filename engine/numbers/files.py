"""Portability files: a full list of ported numbers, and deltas to apply on top.

Both are CSV, one ``number,operator`` row per line: the number in
international form (E.164 digits, an optional ``+``), the operator as MCC+MNC
(ITU-T E.212), as the routing table's ``[networks]`` writes it. A first line
``number,operator`` is a header; blank lines are skipped; there is no quoting.

- A full file lists every ported number once; a number listed twice refuses it.
- A delta file lists changes: ``number,operator`` for a number ported (again),
  ``number,`` (operator left empty) for one ported no more. The last row of a
  number wins.

A file with any bad row is refused whole, nothing changed, with its bad rows
named by line (the first ``REPORTED``, the others counted). Rows are matched in
batches through one regular expression and collected in arrays, so millions of
them stream through in seconds and never sit in memory as Python objects.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import TextIO

from router.portability import (
    INTERNATIONAL,
    MAX_NETWORKS,
    PortedNumbers,
    RepeatedNumbers,
    from_arrays,
)

HEADER = "number,operator"
BATCH_LINES = 65_536
"""Lines matched per batch: the regular expression and the arrays work in C across it."""
REPORTED = 20
"""Bad rows an error names; the others are counted."""

_ROW = re.compile(INTERNATIONAL + r",([0-9]{5,6})\r?\n?")
_DELTA_ROW = re.compile(INTERNATIONAL + r",([0-9]{5,6})?\r?\n?")
_NUMBER = re.compile(INTERNATIONAL)
_DIGITS, _OPERATOR = itemgetter(1), itemgetter(2)


class PortabilityFileError(ValueError):
    """A portability file refused whole; ``problems`` are (line, or 0 for the file, text).

    ``repeated`` are the numbers a full file lists more than once.
    """

    def __init__(
        self,
        source: str,
        problems: list[tuple[int, str]],
        more: int = 0,
        repeated: tuple[int, ...] = (),
    ) -> None:
        self.source = source
        self.problems = problems
        self.repeated = repeated
        lines = [f"{source}: refused, nothing changed: {len(problems) + more} problem(s)"]
        lines += [
            f"{source}:{line}: {text}" if line else f"{source}: {text}" for line, text in problems
        ]
        if more:
            lines.append(f"{source}: ... and {more} more")
        super().__init__("\n".join(lines))


def read_ported_file(path: str | Path) -> PortedNumbers:
    """The table of a full file; raises PortabilityFileError, or OSError when it cannot be read.

    A file listing a number twice is read again to name the lines.
    """
    with _open(path) as lines:
        try:
            return read_ported(lines, str(path))
        except PortabilityFileError as error:
            if not error.repeated:
                raise
            refused = error
    with _open(path) as lines:
        found = _repeat_lines(lines, set(refused.repeated))
    raise PortabilityFileError(str(path), found or refused.problems, repeated=refused.repeated)


def read_delta_file(path: str | Path) -> dict[str, str]:
    """The changes of a delta file; raises PortabilityFileError, or OSError."""
    with _open(path) as lines:
        return read_delta(lines, str(path))


def read_ported(lines: Iterable[str], source: str) -> PortedNumbers:
    """The table a full file's ``lines`` list; ``source`` names the file in errors.

    A number listed twice is named without its lines (``read_ported_file``
    reads the file again to find them).
    """
    networks = _Networks()
    numbers, codes = array("q"), array("H")
    problems = _Problems(source)
    for first, batch in _batches(lines):
        matches = _matched(_ROW, first, batch, problems, delta=False)
        if not problems:
            numbers.extend(map(int, map(_DIGITS, matches)))
            codes.extend(map(networks.__getitem__, map(_OPERATOR, matches)))
        if len(networks) > MAX_NETWORKS:
            problems.add(first, f"more than {MAX_NETWORKS} operators by this batch of lines")
            break
    problems.raise_any()
    try:
        return from_arrays(numbers, codes, tuple(networks))
    except RepeatedNumbers as error:
        listed = [(0, f"{number} is listed more than once") for number in error.numbers]
        raise PortabilityFileError(source, listed, repeated=tuple(error.numbers)) from None


def read_delta(lines: Iterable[str], source: str) -> dict[str, str]:
    """The changes a delta file's ``lines`` list, for ``PortedNumbers.updated``."""
    changes: dict[str, str] = {}
    problems = _Problems(source)
    for first, batch in _batches(lines):
        matches = _matched(_DELTA_ROW, first, batch, problems, delta=True)
        if not problems:
            changes.update((match[1], match[2] or "") for match in matches)
    problems.raise_any()
    return changes


def _open(path: str | Path) -> TextIO:
    """A file's lines; a byte that is not UTF-8 becomes a bad row with its line, not an error
    with none. A byte-order mark (spreadsheet exports) is dropped."""
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


class _Networks(dict[str, int]):
    """Operator to its index, numbering a new one as it is met."""

    def __missing__(self, name: str) -> int:
        index = self[name] = len(self)
        return index


class _Problems(list[tuple[int, str]]):
    """Bad rows of one file: the first ``REPORTED`` by line, the others counted."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.more = 0

    def add(self, line: int, text: str) -> None:
        if len(self) < REPORTED:
            self.append((line, text))
        else:
            self.more += 1

    def raise_any(self) -> None:
        if self:
            raise PortabilityFileError(self.source, list(self), self.more)


def _batches(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """Batches of lines with the number of their first line; a header line is skipped."""
    rest = iter(lines)
    head = next(rest, None)
    if head is None:
        return
    first = 2 if head.strip().lower() == HEADER else 1
    rows = rest if first == 2 else chain((head,), rest)
    while batch := list(islice(rows, BATCH_LINES)):
        yield first, batch
        first += len(batch)


def _matched(
    row: re.Pattern[str], first: int, batch: list[str], problems: _Problems, delta: bool
) -> list[re.Match[str]]:
    """The rows of a batch that match; each other row that is not blank is a problem."""
    matches = list(map(row.fullmatch, batch))
    if None not in matches:
        return matches
    for line, (text, match) in enumerate(zip(batch, matches, strict=True), first):
        if match is None and text.strip():
            problems.add(line, _why(text, delta))
    return [match for match in matches if match is not None]


def _why(text: str, delta: bool) -> str:
    """What is wrong with a row that does not match."""
    fields = text.rstrip("\r\n").split(",")
    if len(fields) != 2:
        shown = text.strip() if len(text) <= 60 else text[:57] + "..."
        return f"expected `number,operator`, found {len(fields)} field(s) in {shown!r}"
    number, operator = fields
    if _NUMBER.fullmatch(number) is None:
        return f"number {number!r} is not international: 1 to 15 digits, no leading 0"
    if delta:
        return f"operator {operator!r} is not an MCC+MNC (5 or 6 digits), nor empty to remove"
    return f"operator {operator!r} is not an MCC+MNC (5 or 6 digits)"


def _repeat_lines(lines: Iterable[str], repeated: set[int]) -> list[tuple[int, str]]:
    """Where a full file lists each of ``repeated`` again (the first ``REPORTED``)."""
    first_seen: dict[int, int] = {}
    found: list[tuple[int, str]] = []
    for line, text in enumerate(lines, 1):
        match = _ROW.fullmatch(text)
        number = int(match[1]) if match is not None else 0
        if number in repeated:
            if number in first_seen:
                found.append((line, f"{number} is listed on line {first_seen[number]} already"))
                if len(found) == REPORTED:
                    break
            else:
                first_seen[number] = line
    return found
