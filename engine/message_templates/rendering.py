"""A template's text with its variables put in, every one checked first.

Values are inserted as they are: a value holding ``{{other}}`` is sent as
those characters, never read as a placeholder (one pass over the parsed
pieces, nothing re-scanned). Every problem is reported at once, each by
its variable's name, so a form can show it next to that field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from engine.message_templates.placeholders import Piece, Placeholder, names

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
"""Control characters but the line feed: a value is text a recipient reads."""
_MISSING = "missing: the template needs a value"


class BadVariables(ValueError):
    """``issues``: variable name -> what is wrong with it (missing, unknown, too long...)."""

    def __init__(self, issues: Mapping[str, str]) -> None:
        self.issues = dict(sorted(issues.items()))
        super().__init__("; ".join(f"variables.{k}: {v}" for k, v in self.issues.items()))


def check_variables(
    pieces: tuple[Piece, ...], variables: Mapping[str, str], max_value_length: int
) -> None:
    """`BadVariables` unless every placeholder has a value, every value a
    placeholder, and each value is non-empty text of at most ``max_value_length``."""
    wanted = names(pieces)
    issues = {name: _MISSING for name in wanted if name not in variables}
    for name, value in variables.items():
        if name not in wanted:
            issues[name[:40]] = "unknown: the template has no such placeholder"
        elif not value:
            issues[name] = "empty: give a value"
        elif len(value) > max_value_length:
            issues[name] = f"too long: at most {max_value_length} characters"
        elif _CONTROL.search(value):
            issues[name] = "control characters are not allowed (a line feed is)"
    if issues:
        raise BadVariables(issues)


def render(pieces: tuple[Piece, ...], variables: Mapping[str, str], max_value_length: int) -> str:
    """The text to send, or `BadVariables` naming each variable in fault."""
    check_variables(pieces, variables, max_value_length)
    return "".join(variables[p.name] if isinstance(p, Placeholder) else p for p in pieces)
