"""Stop keywords: is an MO's text a request to opt out?

Text is compared after Unicode NFKC (fullwidth letters are ASCII letters),
trimming and case folding, with every decimal digit read as its ASCII digit
(Persian digits one one are ``11``): what a handset's keyboard may type for one word.
Nothing else is forgiven: ``STOP please`` is a message for the customer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable


def normalized(text: str) -> str:
    """``text`` as keywords are compared: NFKC, trimmed, case-folded, ASCII digits."""
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    if folded.isascii():
        return folded
    return "".join(_ascii_digit(char) for char in folded)


def _ascii_digit(char: str) -> str:
    value = unicodedata.decimal(char, None)
    return char if value is None else str(value)


class StopKeywords:
    """The configured keywords, normalized once; a test costs a length check
    for the usual MO (longer than any keyword)."""

    def __init__(self, keywords: Iterable[str]) -> None:
        self.words = frozenset(normalized(word) for word in keywords)
        self._longest = max(map(len, self.words), default=0) + _SPACE

    def matches(self, text: str) -> bool:
        return len(text) <= self._longest and normalized(text) in self.words


_SPACE = 16
"""Characters of white space (or of NFKC's compatibility forms) around a keyword
that may still make it one."""
