"""Delivery-receipt correlation: operator message id -> our message.

An operator's receipt names only its own id. When a connector's submit_sm is
accepted we record, per part, what the receipt will need; any shard that later
receives the receipt finds it (Redis in production, a dict in embedded mode),
until a TTL long enough for the longest validity period.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec
from redis.asyncio import Redis

from engine.messages.message import Callback
from ledger.scripts import LuaScript


class SubmittedPart(msgspec.Struct, frozen=True, array_like=True):
    """What a receipt for one submitted part needs to reach the customer."""

    message_id: str
    account: str
    registered_delivery: int
    source_addr: str
    destination_addr: str
    submitted_at: float
    last: bool = True
    """The last part of its message: the one whose receipt speaks for the
    message (an earlier part's receipt is relayed only when it is a failure)."""
    callback: Callback | None = None
    """The HTTP customer's webhook, so the shard that gets the receipt can call it."""
    reference: str = ""
    """The HTTP customer's own reference, echoed in its webhook."""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    """The original addresses' TON/NPI, swapped in the customer's receipt
    (§5.2.12); the defaults are what receipts carried before they were kept."""
    preview: str = ""
    """The first 20 characters of the text, for the receipt's ``text:``; empty
    for binary data and when no SMPP receipt will carry it."""
    bind: int = 0
    """The customer bind that submitted (`BindRegistry.serial`), which the
    receipt goes back to while it is bound; 0 for none (HTTP)."""
    price: int = 0
    """What the whole message costs (minor units), for the HTTP customer's
    webhook; 0 where no webhook will carry it, as it waits in Redis."""


class ReceiptMap(Protocol):
    remote: bool
    """Whether a lookup is a round trip (Redis), worth sparing with a copy in memory."""

    async def put_many(
        self, connector: str, entries: Sequence[tuple[str, SubmittedPart]]
    ) -> None: ...

    async def get_many(self, keys: Sequence[tuple[str, str]]) -> list[SubmittedPart | None]:
        """The parts of (connector, operator id) pairs; None where unknown or expired."""
        ...


class MemoryReceiptMap:
    """Embedded mode: a dict, with entries expiring in insertion order."""

    remote = False

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, SubmittedPart]] = {}

    async def put_many(self, connector: str, entries: Sequence[tuple[str, SubmittedPart]]) -> None:
        now = self._clock()
        self._expire(now)
        for operator_id, part in entries:
            key = (connector, operator_id)
            self._entries.pop(key, None)
            self._entries[key] = (now + self.ttl, part)

    async def get_many(self, keys: Sequence[tuple[str, str]]) -> list[SubmittedPart | None]:
        now = self._clock()
        found = [self._entries.get(key) for key in keys]
        return [entry[1] if entry and entry[0] > now else None for entry in found]

    def _expire(self, now: float) -> None:
        """Dicts keep insertion order and every entry has the same TTL: the
        oldest entries are first, so expiry stops at the first live one."""
        expired = []
        for key, (expires, _) in self._entries.items():
            if expires > now:
                break
            expired.append(key)
        for key in expired:
            del self._entries[key]


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(SubmittedPart).decode


_PUT_MANY = LuaScript.from_package("engine.messages", "put_receipts")
"""SET with a TTL for each key, in one call: a pipeline of SETs cost the client
16 us of Python per entry (one command to pack and one reply to parse each),
this 2 us; one entry per submitted part is on every message's path."""


class RedisReceiptMap:
    """Production: one key per operator id; one script call per connector and
    batch to write, one MGET per connector and batch to read. A connector's
    keys share one hash tag, so each call stays in one Redis Cluster slot."""

    remote = True

    def __init__(self, redis: Redis, namespace: str, ttl: int) -> None:
        self._redis = redis
        self._namespace = namespace
        self.ttl = ttl

    def _prefix(self, connector: str) -> str:
        return f"{self._namespace}:{{dlr:{connector}}}:"

    async def put_many(self, connector: str, entries: Sequence[tuple[str, SubmittedPart]]) -> None:
        if not entries:
            return
        prefix = self._prefix(connector)
        keys = [prefix + operator_id for operator_id, _ in entries]
        await _PUT_MANY(self._redis, keys, [self.ttl, *(_encode(part) for _, part in entries)])

    async def get_many(self, keys: Sequence[tuple[str, str]]) -> list[SubmittedPart | None]:
        by_connector: dict[str, list[int]] = {}
        for index, (connector, _) in enumerate(keys):
            by_connector.setdefault(connector, []).append(index)
        found: list[SubmittedPart | None] = [None] * len(keys)
        for connector, indexes in by_connector.items():
            prefix = self._prefix(connector)
            raw = await self._redis.mget([prefix + keys[index][1] for index in indexes])
            for index, value in zip(indexes, raw, strict=True):
                if value is not None:
                    found[index] = _decode(value)
        return found
