"""The screen that refuses a message to a number on an opt-out list.

It runs on the accept path after routing and before anything is held
(`engine.messages.intake.Screen`): a refused message costs nothing.

The SMPP answer is ESME_RX_R_APPN (0x66, "ESME receiver reject message",
SMPP 3.4 §5.1.3): a permanent refusal of this message by policy, so no
client retries it, and not ESME_RINVDSTADR, which means the number is
malformed or unroutable (our "no route") and makes clients drop a number
that is valid. HTTP callers get ``opted_out`` (422) with the list named.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine.customers.accounts import AccountConfig
from engine.messages.intake import Refused
from engine.messages.message import Priority
from engine.optout.config import OptOutConfig
from engine.optout.mirror import OptOutMirror
from router import MtRouted
from smpp.constants import CommandStatus as S

OPTED_OUT = "opted_out"
STATUS = S.ESME_RX_R_APPN
ON_GLOBAL = Refused(STATUS, "the recipient is on the global opt-out list", OPTED_OUT)
ON_ACCOUNT = Refused(STATUS, "the recipient is on this account's opt-out list", OPTED_OUT)


class OptOutScreen:
    def __init__(self, mirror: OptOutMirror, config: OptOutConfig) -> None:
        self.mirror = mirror
        self.otp_bypass = frozenset(
            account for account, policy in config.accounts.items() if policy.otp_bypass
        )
        """Accounts whose OTP messages pass their own list."""
        self._exempt: tuple[str, str] | None = None

    def screen(
        self, account: AccountConfig, decision: MtRouted, priority: Priority, now: float
    ) -> Refused | None:
        number = decision.destination
        mirror = self.mirror
        if number in mirror.everyone:
            return ON_GLOBAL
        own = mirror.accounts.get(account.id)
        if own is None or number not in own:
            return None
        if priority is Priority.OTP and account.id in self.otp_bypass:
            return None
        if self._exempt == (account.id, number):
            return None
        return ON_ACCOUNT

    @contextmanager
    def exempting(self, account: str, number: str) -> Iterator[None]:
        """Lets ``account``'s message to ``number`` pass its own list while
        the block runs: the confirmation of a stop keyword, submitted
        synchronously inside it (the number is on the list by then)."""
        self._exempt = (account, number)
        try:
            yield
        finally:
            self._exempt = None
