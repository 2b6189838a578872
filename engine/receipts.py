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


class SubmittedPart(msgspec.Struct, frozen=True, array_like=True):
    """What a receipt for one submitted part needs to reach the customer."""

    message_id: str
    account: str
    registered_delivery: int
    source_addr: str
    destination_addr: str
    submitted_at: float


class ReceiptMap(Protocol):
    async def put_many(
        self, connector: str, entries: Sequence[tuple[str, SubmittedPart]]
    ) -> None: ...

    async def get(self, connector: str, operator_id: str) -> SubmittedPart | None: ...


class MemoryReceiptMap:
    """Embedded mode: a dict with expiry checked on read and swept on write."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, SubmittedPart]] = {}

    async def put_many(self, connector: str, entries: Sequence[tuple[str, SubmittedPart]]) -> None:
        expires = self._clock() + self.ttl
        for operator_id, part in entries:
            self._entries[(connector, operator_id)] = (expires, part)
        if len(self._entries) > 100_000:
            now = self._clock()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}

    async def get(self, connector: str, operator_id: str) -> SubmittedPart | None:
        found = self._entries.get((connector, operator_id))
        if found is None or found[0] <= self._clock():
            return None
        return found[1]


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(SubmittedPart).decode


class RedisReceiptMap:
    """Production: one key per operator id, written in one pipeline per batch."""

    def __init__(self, redis: Redis, namespace: str, ttl: int) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:dlr:"
        self.ttl = ttl

    async def put_many(self, connector: str, entries: Sequence[tuple[str, SubmittedPart]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for operator_id, part in entries:
                pipe.set(f"{self._prefix}{connector}:{operator_id}", _encode(part), ex=self.ttl)
            await pipe.execute()

    async def get(self, connector: str, operator_id: str) -> SubmittedPart | None:
        raw = await self._redis.get(f"{self._prefix}{connector}:{operator_id}")
        return None if raw is None else _decode(raw)
