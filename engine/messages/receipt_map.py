"""Delivery-receipt correlation: operator message id -> our message.

An operator's receipt names only its own id. When a connector's submit_sm is
accepted we record, per part, what the receipt will need; any shard that later
receives the receipt finds it (Redis in production, a dict in embedded mode).
Once a part's final receipt has been applied its correlation is forgotten
(`forget_many`): kept, it would only match a repeat of that receipt, which
the customer has had already (the repeat is answered OK and counted unknown).
A part whose final receipt never comes is forgotten after the map's TTL,
long enough for the longest validity period (`GatewayLimits.receipt_ttl`).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError

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

    async def forget_many(self, keys: Sequence[tuple[str, str]]) -> None:
        """Drop the correlations of (connector, operator id) pairs whose final receipt is in."""
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

    async def forget_many(self, keys: Sequence[tuple[str, str]]) -> None:
        for key in keys:
            self._entries.pop(key, None)

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
"""SET with a TTL for each key of one hash tag, in one call: a pipeline of SETs
cost the client 16 us of Python per entry (one command to pack and one reply
to parse each), this 2 us; one entry per submitted part is on every message's path."""

RECEIPT_TAGS = 64
"""Hash tags one connector's correlations are spread over: the key of operator
id X is ``{ns}:{dlr:<connector>:<crc32(X) % RECEIPT_TAGS>}:X``, so a busy
operator's receipts land in as many Cluster slots (and so on every node)
rather than all in one. Every shard must find a key where another put it:
changing this number loses the correlations stored before."""


class RedisReceiptMap:
    """Production: one key per operator id, spread over `RECEIPT_TAGS` hash tags
    per connector. On a cluster a batch is grouped by tag: one script call
    (put), MGET (get) or DEL (forget) per tag, each in one slot, all in one
    pipeline. A single node checks no slots, so there a batch is one call
    whatever its tags: per tag, 64 commands where one would do cost the client
    13 to 44 us more per part (put, get and forget; batches of 200 and 50)."""

    remote = True

    def __init__(self, redis: Redis | RedisCluster, namespace: str, ttl: int) -> None:
        self._redis = redis
        self._namespace = namespace
        self.ttl = ttl
        self._per_tag = isinstance(redis, RedisCluster)
        self._prefixes: dict[str, tuple[str, ...]] = {}
        """Each connector's key prefix per hash tag, written once: formatting
        it was half the cost of a key."""

    def key(self, connector: str, operator_id: str) -> tuple[str, str]:
        """The hash tag (as the key's prefix) and the key of one correlation."""
        prefixes = self._prefixes.get(connector)
        if prefixes is None:
            prefixes = self._prefixes[connector] = tuple(
                f"{self._namespace}:{{dlr:{connector}:{tag}}}:" for tag in range(RECEIPT_TAGS)
            )
        prefix = prefixes[zlib.crc32(operator_id.encode()) % RECEIPT_TAGS]
        return prefix, prefix + operator_id

    def _by_tag(self, keys: Sequence[tuple[str, str]]) -> dict[str, tuple[list[int], list[str]]]:
        """Indexes into ``keys`` and their key names, grouped by hash tag on a
        cluster, all in one group on a single node."""
        if not self._per_tag:
            names = [self.key(connector, operator_id)[1] for connector, operator_id in keys]
            return {"": (list(range(len(keys))), names)}
        groups: dict[str, tuple[list[int], list[str]]] = {}
        for index, (connector, operator_id) in enumerate(keys):
            tag, key = self.key(connector, operator_id)
            group = groups.get(tag)
            if group is None:
                group = groups[tag] = ([], [])
            group[0].append(index)
            group[1].append(key)
        return groups

    async def put_many(self, connector: str, entries: Sequence[tuple[str, SubmittedPart]]) -> None:
        if not entries:
            return
        groups = self._by_tag([(connector, operator_id) for operator_id, _ in entries])
        calls = [
            (names, [self.ttl, *(_encode(entries[index][1]) for index in indexes)])
            for indexes, names in groups.values()
        ]
        try:
            await self._put(calls)
        except NoScriptError:  # a restarted or flushed Redis; SETs that ran are repeated
            await _PUT_MANY.load(self._redis)
            await self._put(calls)

    async def _put(self, calls: list[tuple[list[str], list[Any]]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for names, args in calls:
                pipe.evalsha(_PUT_MANY.sha, len(names), *names, *args)
            await pipe.execute()

    async def get_many(self, keys: Sequence[tuple[str, str]]) -> list[SubmittedPart | None]:
        found: list[SubmittedPart | None] = [None] * len(keys)
        if not keys:
            return found
        groups = self._by_tag(keys)
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, names in groups.values():
                pipe.execute_command("MGET", *names)  # pipe.mget is refused on a cluster
            replies = await pipe.execute()
        for (indexes, _), raw in zip(groups.values(), replies, strict=True):
            for index, value in zip(indexes, raw, strict=True):
                if value is not None:
                    found[index] = _decode(value)
        return found

    async def forget_many(self, keys: Sequence[tuple[str, str]]) -> None:
        if not keys:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, names in self._by_tag(keys).values():
                pipe.delete(*names)
            await pipe.execute()
