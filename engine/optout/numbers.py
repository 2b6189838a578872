"""The numbers an opt-out list holds: E.164 digits, without the ``+``.

Lists are matched against the routed destination (`router.MtRouted.destination`,
international form without ``+``), so a number is kept in that same form. The
check is the E.164 shape only (ITU-T E.164 §6: a country code, which never
starts with 0, then the national number, at most 15 digits): an opt-out is
kept even for a range the numbering plans do not know yet.
"""

from __future__ import annotations

import re

_E164 = re.compile(r"\+?([1-9][0-9]{6,14})")
"""7 digits is the shortest real number (+683 4002, Niue); 15 the E.164 maximum."""


class BadNumber(ValueError):
    """A number that cannot be on a list, with the field that gave it."""


def check_number(given: str, field: str = "number") -> str:
    """``given`` (``[+]digits``) as E.164 digits without ``+``, or `BadNumber`."""
    matched = _E164.fullmatch(given)
    if matched is None:
        raise BadNumber(
            f"{field}: {given[:40]!r} is not an international number"
            " (E.164: country code then number, 7 to 15 digits, an optional +)"
        )
    return matched[1]
