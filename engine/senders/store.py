"""Where sender IDs are kept: Redis in production, memory in ``smsgw dev``.

One Redis hash, ``{namespace}:{senders}:registry``, field ``<account>\\n<sender>``
(neither may hold a newline), value the `SenderId` as JSON. A registry is
small (a few senders per account) and read whole only when a shard starts or
catches up, so one hash on one Cluster slot serves every shard.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from engine.senders.model import SenderId
from ledger.redis_client import RedisClient

SCAN_COUNT = 1_000
"""Fields one HSCAN asks for: the registry is read in slices, never in one blocking call."""

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(SenderId).decode


class SenderStore(Protocol):
    async def get(self, account: str, sender: str) -> SenderId | None: ...

    async def create(self, entry: SenderId) -> bool:
        """Keeps ``entry`` unless its account already has that sender; whether it did."""
        ...

    async def put(self, entry: SenderId) -> None:
        """Keeps ``entry`` in place of what its account had for that sender."""
        ...

    async def all(self) -> list[SenderId]: ...


class MemorySenderStore:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], SenderId] = {}

    async def get(self, account: str, sender: str) -> SenderId | None:
        return self._entries.get((account, sender))

    async def create(self, entry: SenderId) -> bool:
        return self._entries.setdefault((entry.account, entry.sender), entry) is entry

    async def put(self, entry: SenderId) -> None:
        self._entries[entry.account, entry.sender] = entry

    async def all(self) -> list[SenderId]:
        return list(self._entries.values())


class RedisSenderStore:
    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self.redis = redis
        self.key = f"{namespace}:{{senders}}:registry"

    async def get(self, account: str, sender: str) -> SenderId | None:
        value = await self.redis.hget(self.key, _field(account, sender))  # type: ignore[misc]
        return None if value is None else self._entry(_field(account, sender), value)

    async def create(self, entry: SenderId) -> bool:
        field = _field(entry.account, entry.sender)
        return bool(await self.redis.hsetnx(self.key, field, _encode(entry)))  # type: ignore[misc]

    async def put(self, entry: SenderId) -> None:
        field = _field(entry.account, entry.sender)
        await self.redis.hset(self.key, field, _encode(entry))  # type: ignore[misc]

    async def all(self) -> list[SenderId]:
        entries: list[SenderId] = []
        cursor = 0
        while True:
            cursor, fields = await self.redis.hscan(self.key, cursor, count=SCAN_COUNT)  # type: ignore[misc]
            entries += [self._entry(field, value) for field, value in fields.items()]
            if not cursor:
                return entries

    def _entry(self, field: bytes | str, value: bytes | str) -> SenderId:
        """An entry read back; a damaged one is named with its key and field."""
        try:
            return _decode(value)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ValueError(f"{self.key}: field {field!r}: {exc}") from exc


def _field(account: str, sender: str) -> str:
    return f"{account}\n{sender}"
