"""What the shards share about fraud: blocks, lifts, accounts' settings, counts.

`MemoryFraudStore` (one process, `smsgw dev` and tests) and `RedisFraudStore`
(production) keep the same records. Every change is told to every shard
watching (pub/sub on Redis), which then reads the records again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec

from engine.fraud.counters import CountStore
from engine.fraud.settings import CODES, FraudSettings, Rule

Changed = Callable[[], None]
"""Called when another shard changed a record (a shard may hear its own too)."""


class Block(msgspec.Struct, frozen=True, kw_only=True):
    """An automatic block of one account's messages to a prefix (or to one
    number, for the per-number limit), and why."""

    account: str
    prefix: str
    """A destination prefix, or a whole number: the messages it starts."""
    rule: Rule
    reason: str
    """The rule, the prefix or number and the figures that tripped it."""
    since: float
    """Unix time it began."""
    until: float = 0.0
    """Unix time it ends by itself; 0: when an admin lifts it."""
    shard: str = ""
    """The shard that made it."""

    @property
    def code(self) -> str:
        return CODES[self.rule]

    def over(self, now: float) -> bool:
        return bool(self.until) and now >= self.until


class Allowance(msgspec.Struct, frozen=True, kw_only=True):
    """An admin's lift with time: the automatic rules leave the account's
    messages to ``prefix`` alone until ``until``."""

    account: str
    prefix: str
    until: float
    lifted: Block
    """The block it lifted."""


class FraudRecords(msgspec.Struct, frozen=True, kw_only=True):
    blocks: list[Block]
    allowances: list[Allowance]
    settings: dict[str, FraudSettings]
    """Accounts' settings set through the admin API."""


class FraudStore(CountStore, Protocol):
    async def records(self, now: float) -> FraudRecords:
        """Every block and allowance still in force at ``now``, and every
        account's settings (ended ones are forgotten on the way)."""
        ...

    async def add_block(self, block: Block) -> bool:
        """Keeps ``block`` unless one is held for its account and prefix;
        whether it was kept (told to every shard then)."""
        ...

    async def lift(self, account: str, prefix: str, allowance: Allowance | None) -> Block | None:
        """Removes the block of ``account`` and ``prefix`` and keeps
        ``allowance``; the block removed, or None when none was held."""
        ...

    async def put_settings(self, account: str, settings: FraudSettings) -> None: ...

    async def watch(self, changed: Changed) -> None:
        """Calls ``changed`` at each change another shard makes, until cancelled."""
        ...


def field(account: str, prefix: str) -> str:
    """An account and prefix as one key (account ids hold no ':')."""
    return f"{account}:{prefix}"
