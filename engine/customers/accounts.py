"""Customer accounts as the engine knows them, and the binds they hold.

Balances and limits that must hold cluster-wide live in the ledger; what is
here is the per-shard view: credentials, bind limits, message defaults, and
which live SMPP connections can take a deliver_sm for an account.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import msgspec

from engine.messages.message import Priority
from smpp.aio import SmppConnection
from smpp.state import SessionState

_RECEIVING = (SessionState.BOUND_RX, SessionState.BOUND_TRX)


class AccountConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    """The ledger's account id; also the SMPP system_id the customer binds with."""
    password_hash: str
    """`engine.passwords.hash_password` output; never the password itself."""
    groups: tuple[str, ...] = ()
    max_binds: int = 4
    priority: Priority = Priority.NORMAL
    """Class of messages whose priority_flag does not say otherwise."""
    latin1_allowed: bool = True
    credit_limit: int = 0
    throughput: int = 0
    """Parts per second across every shard; 0 is unlimited."""
    bind_throughput: int = 0
    """submit_sm per second on one bind; 0 is unlimited."""
    window: int = 10
    """deliver_sm we may have unanswered on one of the account's binds."""
    webhook_url: str = ""
    """Where receipts of HTTP messages go when a request names no webhook."""
    webhook_secret: str = ""
    """HMAC key signing this account's webhooks."""


class BindRegistry:
    """Live customer binds by account, and round-robin choice of a receiver."""

    def __init__(self) -> None:
        self._binds: dict[str, list[SmppConnection]] = {}
        self._turn: dict[str, int] = {}

    def count(self, account: str) -> int:
        return len(self._binds.get(account, ()))

    def add(self, account: str, connection: SmppConnection) -> None:
        self._binds.setdefault(account, []).append(connection)

    def remove(self, account: str, connection: SmppConnection) -> None:
        binds = self._binds.get(account)
        if binds and connection in binds:
            binds.remove(connection)

    def of(self, account: str) -> list[SmppConnection]:
        return list(self._binds.get(account, ()))

    def all(self) -> Iterator[SmppConnection]:
        for binds in self._binds.values():
            yield from binds

    def has_receiver(self, account: str) -> bool:
        """Whether ``account`` has a receiver or transceiver bind here, busy or not."""
        return any(
            connection.state in _RECEIVING and connection.is_open
            for connection in self._binds.get(account, ())
        )

    def receiving_accounts(self) -> list[str]:
        return [account for account in self._binds if self.has_receiver(account)]

    def receiver(self, account: str, window: int) -> SmppConnection | None:
        """A receiver or transceiver bind of ``account`` with a free window slot."""
        binds = self._binds.get(account)
        if not binds:
            return None
        start = self._turn.get(account, 0)
        for offset in range(len(binds)):
            connection = binds[(start + offset) % len(binds)]
            if (
                connection.state in _RECEIVING
                and connection.in_flight < window
                and connection.is_open
            ):
                self._turn[account] = start + offset + 1
                return connection
        return None


class HeldDeliveries:
    """deliver_sm waiting for a receiving bind of their account, bounded per
    account; each expires at its own deadline (the message's validity)."""

    def __init__(self, max_per_account: int) -> None:
        self.max_per_account = max_per_account
        self._held: dict[str, deque[tuple[float, object]]] = {}

    def hold(self, account: str, deadline: float, item: object) -> bool:
        queue = self._held.setdefault(account, deque())
        if len(queue) >= self.max_per_account:
            return False
        queue.append((deadline, item))
        return True

    def has(self, account: str) -> bool:
        return bool(self._held.get(account))

    def take(self, account: str, now: float) -> list[tuple[float, object]]:
        """Every unexpired held item of ``account`` with its deadline, oldest
        first, removing them all."""
        queue = self._held.pop(account, None) or ()
        return [(deadline, item) for deadline, item in queue if deadline > now]

    def __len__(self) -> int:
        return sum(len(q) for q in self._held.values())
