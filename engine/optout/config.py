"""The ``[optout]`` section: stop keywords, the confirmation, each account's policy.

```toml
[optout]
keywords = ["STOP", "UNSUBSCRIBE", "لغو", "11"]
reply = "You will receive no more messages"

[optout.accounts.bank]
otp_bypass = true            # its OTPs reach numbers on its own list
reply = "BANK: you are unsubscribed. Text START to opt back in."
```
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from engine.optout.keywords import normalized

DEFAULT_KEYWORDS = (
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",  # English (CTIA)
    "ARRET", "ARRÊT", "STOPP", "BAJA", "CANCELAR",  # French, German, Spanish
    "لغو", "11", "إلغاء", "الغاء",  # Persian (and Iran's "11"), Arabic
)  # fmt: skip
DEFAULT_REPLY = "You will receive no more messages"

Reply = Annotated[
    str,
    Meta(max_length=320, pattern=r"^[^\x00-\x1f\x7f]*$(?!\n)",
         description="At most 320 characters, no control characters; empty sends none."),
]  # fmt: skip


class AccountOptOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One account's policy (``[optout.accounts.<id>]``)."""

    otp_bypass: bool = False
    """Its OTP messages (priority_flag 3, or priority "otp" over HTTP) reach
    numbers on its own list: a code the holder asked for is not marketing.
    Never numbers on the global list."""
    reply: Reply | None = None
    """The confirmation a number that texted a stop keyword gets; None: the
    section's ``reply``; "": none."""


class OptOutConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    """An MO whose whole text is one of these (`engine.optout.keywords`) puts
    its sender on the opt-out list of the account it is routed to."""
    reply: Reply = DEFAULT_REPLY
    """The confirmation sent back, from the number the MO was sent to, billed
    as any message of the account; "" sends none."""
    reload_interval: Annotated[float, Meta(ge=0)] = 300.0
    """Seconds between two full reads of the lists by each shard, which catch
    up a change another shard published while this one was not listening; 0: never."""
    accounts: dict[str, AccountOptOut] = {}

    def __post_init__(self) -> None:
        empty = [i for i, word in enumerate(self.keywords) if not normalized(word)]
        if empty:
            raise ValueError(f"keywords[{empty[0]}]: a keyword must have a character not a space")

    def reply_of(self, account: str) -> str:
        policy = self.accounts.get(account)
        if policy is None or policy.reply is None:
            return self.reply
        return policy.reply
