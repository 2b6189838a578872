"""A template body as text and ``{{name}}`` placeholders.

The body is customer text, so it is never handed to a template engine or
``str.format`` (which would read attributes, indexes and format specs out of
it): this scanner knows one construct. ``{{`` opens a placeholder, the next
``}}`` closes it, and what is between must be a name, ``[a-z][a-z0-9_]{0,31}``
exactly (no spaces, no dots, no filters). Anything else after ``{{`` is an
error with its place, so a typo never reaches a recipient as raw braces. A
lone ``{``, ``}`` or ``}}`` is text.
"""

from __future__ import annotations

import re
from typing import NamedTuple

NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
OPEN, CLOSE = "{{", "}}"
NAME_RULE = "a lower-case letter, then up to 31 of a-z, 0-9 and _"


class Placeholder(NamedTuple):
    name: str


Piece = str | Placeholder
"""Text as it is sent, or a place for a variable's value."""


class BadBody(ValueError):
    """A body that is not text and placeholders; the message says where (1-based)."""


def parse(body: str) -> tuple[Piece, ...]:
    """The body's pieces in order; adjacent text is one piece, never empty."""
    pieces: list[Piece] = []
    at = 0
    while (start := body.find(OPEN, at)) >= 0:
        end = body.find(CLOSE, start + len(OPEN))
        if end < 0:
            raise BadBody(f"character {start + 1}: {OPEN} is not closed by {CLOSE}")
        name = body[start + len(OPEN) : end]
        if not NAME.fullmatch(name):
            shown = OPEN + name[:40] + CLOSE
            raise BadBody(f"character {start + 1}: {shown} is not a placeholder ({NAME_RULE})")
        if start > at:
            pieces.append(body[at:start])
        pieces.append(Placeholder(name))
        at = end + len(CLOSE)
    if at < len(body):
        pieces.append(body[at:])
    return tuple(pieces)


def names(pieces: tuple[Piece, ...]) -> tuple[str, ...]:
    """The placeholders' names, each once, in the order they first appear."""
    return tuple(dict.fromkeys(p.name for p in pieces if isinstance(p, Placeholder)))


def assemble(pieces: tuple[Piece, ...]) -> str:
    """The body the pieces were parsed from."""
    return "".join(p if isinstance(p, str) else OPEN + p.name + CLOSE for p in pieces)
