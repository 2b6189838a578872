"""Everything wrong with one input (a record, a request, a file), said at
once: an operator fixing a file of thousands of rows sees every bad line in
one answer, not one per attempt."""

from __future__ import annotations

from collections.abc import Iterable

MAX_ISSUES = 1_000
"""Issues listed at most; the rest are counted in one last line."""


class InputIssues(ValueError):
    """``issues``: one line each (``line N: field: why``), at most `MAX_ISSUES`."""

    def __init__(self, issues: Iterable[str]) -> None:
        listed = list(issues)
        if len(listed) > MAX_ISSUES:
            listed[MAX_ISSUES:] = [f"and {len(listed) - MAX_ISSUES} more issue(s)"]
        self.issues = tuple(listed)
        super().__init__("\n".join(self.issues))
