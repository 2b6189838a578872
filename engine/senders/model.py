"""A sender ID: one source address of one account, requested, then approved
or rejected by staff; and the shape a sender must have.

A sender is an alphanumeric originator of at most 11 GSM 03.38 characters
(3GPP TS 23.040 §9.1.2.5: an alphanumeric TP-OA holds 11 septets) or a
number of at most 16 digits (SMPP 3.4 §5.2.8 source_addr, 20 octets, less
room for a prefix operators add). Case is kept: "MyBank" and "MYBANK" are two
senders. A slash is refused: a sender is one segment of an HTTP path.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from smpp.gsm import CHARACTERS

State = Literal["requested", "approved", "rejected"]
STATES: tuple[State, ...] = ("requested", "approved", "rejected")
MAX_ALPHANUMERIC = 11
MAX_DIGITS = 16
MAX_NOTE = 500
"""Characters of a customer's note or of a rejection's reason."""
_ALPHANUMERIC = frozenset(char for char in CHARACTERS if char.isprintable() and char != "/")


class SenderId(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    sender: str
    state: State
    note: str = ""
    """Why the customer wants it (the brand, the use), for the reviewer."""
    reason: str = ""
    """Why it was rejected; "" otherwise."""
    requested_by: str = ""
    requested_at: int = 0
    """Unix milliseconds."""
    decided_by: str = ""
    """Who approved or rejected it ("console:<user>", "admin"); "" while requested."""
    decided_at: int = 0


class InvalidSender(ValueError):
    """A sender of the wrong shape, with the field that gave it."""


def check_sender(given: str, field: str = "sender") -> str:
    """``given`` as the registry keeps it (a number without its ``+``), or `InvalidSender`."""
    digits = given.removeprefix("+")
    if digits.isascii() and digits.isdigit():
        if len(digits) > MAX_DIGITS:
            raise InvalidSender(f"{field}: a numeric sender has at most {MAX_DIGITS} digits")
        return digits
    if not given or given != given.strip():
        raise InvalidSender(f"{field}: {given[:40]!r} is empty or starts or ends with a space")
    if len(given) > MAX_ALPHANUMERIC:
        raise InvalidSender(
            f"{field}: an alphanumeric sender has at most {MAX_ALPHANUMERIC} characters"
        )
    wrong = [char for char in given if char not in _ALPHANUMERIC]
    if wrong:
        raise InvalidSender(f"{field}: {wrong[0]!r} is not a GSM 03.38 character a sender may hold")
    return given


def source_key(source_addr: str) -> str:
    """A message's source as the registry compares it: a number without its ``+``."""
    digits = source_addr.removeprefix("+")
    return digits if digits.isdigit() else source_addr
