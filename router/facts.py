"""What the router sees of a message.

The engine fills this from a decoded ``submit_sm``/``deliver_sm`` or an HTTP
request. The router never reads the clock: ``now`` comes in, so a decision is a
pure function of the facts, the table and the health hook, and tests are exact.
"""

from datetime import datetime
from typing import Literal, get_args

import msgspec

PriorityClass = Literal["otp", "express", "normal", "bulk"]
"""Scheduling classes, strictest first (DESIGN: the life of a message, step 4)."""

PRIORITY_CLASSES: frozenset[str] = frozenset(get_args(PriorityClass))


class MessageFacts(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The facts of one message that routing filters may test.

    MT facts carry the sending ``account`` and its ``groups``; MO facts carry the
    ``connector`` the ``deliver_sm`` came from. ``content`` is the decoded text;
    ``data_coding`` is the SMPP field as received (SMPP 3.4 §5.2.19).
    """

    source: str
    destination: str
    now: datetime
    account: str = ""
    groups: tuple[str, ...] = ()
    connector: str = ""
    content: str = ""
    data_coding: int = 0
    priority: PriorityClass = "normal"
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.now.utcoffset() is None:
            raise ValueError("now must be an aware datetime")
        if self.priority not in PRIORITY_CLASSES:
            raise ValueError(f"priority must be one of {sorted(PRIORITY_CLASSES)}")
        if not 0 <= self.data_coding <= 0xFF:
            raise ValueError("data_coding must be in 0..255")
