"""Where opt-out lists are kept: Redis in production, memory in ``smsgw dev``.

One Redis hash per list, field the number, value ``<added_at ms>:<source>``
(the first time it was listed, and how: kept as the proof an operator is asked
for). Each list has its own hash tag, ``{namespace}:{optout}:global`` and
``{namespace}:{optout:<account>}:account``, so lists spread over a Cluster's
nodes and every command touches one slot; ``{namespace}:{optout}:accounts``
names the accounts that have a list, for a shard that reads them all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Literal, Protocol

import msgspec

from ledger.redis_client import RedisClient, as_text

Source = Literal["mo", "api", "admin", "import"]
"""How a number came on a list: a stop keyword, the customer's API, the admin
API, a CSV import."""

SCAN_COUNT = 2_000
"""Fields one HSCAN asks for: a list is read in slices, never in one blocking call."""
WRITE_CHUNK = 5_000
"""Numbers per pipeline when an import writes a list."""


class Entry(msgspec.Struct, frozen=True):
    number: str
    """E.164 digits, no ``+`` (`engine.optout.numbers`)."""
    added_at: int
    """Unix milliseconds of the first time it was listed."""
    source: Source


class OptOutStore(Protocol):
    """``account`` names an account's list; None is the global list."""

    async def add(self, account: str | None, entries: Sequence[Entry]) -> list[str]:
        """Lists each entry's number; one already listed keeps its first entry.
        The numbers that were not listed."""
        ...

    async def remove(self, account: str | None, numbers: Sequence[str]) -> int:
        """How many of ``numbers`` were listed (and are no longer)."""
        ...

    async def entry(self, account: str | None, number: str) -> Entry | None: ...

    async def listed(self, account: str | None, numbers: Sequence[str]) -> list[bool]: ...

    async def accounts(self) -> list[str]:
        """The accounts that have (or had) a list."""
        ...

    def entries(self, account: str | None) -> AsyncIterator[list[Entry]]:
        """The list in slices, in no particular order."""
        ...


class MemoryOptOutStore:
    def __init__(self) -> None:
        self._lists: dict[str | None, dict[str, Entry]] = {}

    async def add(self, account: str | None, entries: Sequence[Entry]) -> list[str]:
        held = self._lists.setdefault(account, {})
        new = []
        for entry in entries:
            if entry.number not in held:
                held[entry.number] = entry
                new.append(entry.number)
        return new

    async def remove(self, account: str | None, numbers: Sequence[str]) -> int:
        held = self._lists.get(account, {})
        return sum(held.pop(number, None) is not None for number in numbers)

    async def entry(self, account: str | None, number: str) -> Entry | None:
        return self._lists.get(account, {}).get(number)

    async def listed(self, account: str | None, numbers: Sequence[str]) -> list[bool]:
        held = self._lists.get(account, {})
        return [number in held for number in numbers]

    async def accounts(self) -> list[str]:
        return [account for account in self._lists if account is not None]

    async def entries(self, account: str | None) -> AsyncIterator[list[Entry]]:
        held = list(self._lists.get(account, {}).values())
        for start in range(0, len(held), SCAN_COUNT):
            yield held[start : start + SCAN_COUNT]


class RedisOptOutStore:
    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace
        self.index = f"{namespace}:{{optout}}:accounts"

    def key(self, account: str | None) -> str:
        if account is None:
            return f"{self.namespace}:{{optout}}:global"
        return f"{self.namespace}:{{optout:{account}}}:account"

    async def add(self, account: str | None, entries: Sequence[Entry]) -> list[str]:
        key = self.key(account)
        if account is not None and entries:
            await self.redis.sadd(self.index, account)  # type: ignore[misc]  # redis-py's union
        new: list[str] = []
        for start in range(0, len(entries), WRITE_CHUNK):
            chunk = entries[start : start + WRITE_CHUNK]
            async with self.redis.pipeline(transaction=False) as pipe:
                for entry in chunk:
                    pipe.hsetnx(key, entry.number, f"{entry.added_at}:{entry.source}")
                answers = await pipe.execute()
            new += [entry.number for entry, added in zip(chunk, answers, strict=True) if added]
        return new

    async def remove(self, account: str | None, numbers: Sequence[str]) -> int:
        if not numbers:
            return 0
        return int(await self.redis.hdel(self.key(account), *numbers))  # type: ignore[misc]

    async def entry(self, account: str | None, number: str) -> Entry | None:
        key = self.key(account)
        value = await self.redis.hget(key, number)  # type: ignore[misc]
        return None if value is None else _entry(key, number, value)

    async def listed(self, account: str | None, numbers: Sequence[str]) -> list[bool]:
        if not numbers:
            return []
        values = await self.redis.hmget(self.key(account), list(numbers))  # type: ignore[misc]
        return [value is not None for value in values]

    async def accounts(self) -> list[str]:
        members = await self.redis.smembers(self.index)  # type: ignore[misc]
        return sorted(as_text(member) for member in members)

    async def entries(self, account: str | None) -> AsyncIterator[list[Entry]]:
        key = self.key(account)
        cursor = 0
        while True:
            cursor, fields = await self.redis.hscan(key, cursor, count=SCAN_COUNT)  # type: ignore[misc]
            if fields:
                yield [_entry(key, as_text(number), value) for number, value in fields.items()]
            if not cursor:
                return


def _entry(key: str, number: str, value: bytes | str) -> Entry:
    """An entry read back; a damaged one is named, with its key and field."""
    text = as_text(value)
    added_at, _, source = text.partition(":")
    try:
        return msgspec.convert(
            {"number": number, "added_at": int(added_at), "source": source}, Entry
        )
    except (ValueError, msgspec.ValidationError) as exc:
        raise ValueError(f"{key}: field {number!r} = {text!r}: {exc}") from exc
