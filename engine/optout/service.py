"""`OptOut`: one shard's opt-out lists, kept in step with the other shards.

A change is written to the store, marked in this shard's mirror, then
published on ``{namespace}:optout`` (`engine.admin.publishing.ShardChannels`,
its own channel). A shard that hears it asks the store about the numbers
named (a change of many numbers names none: the list is read again whole):
what it marks is the store's word, whichever order changes arrive in. A
change published while a shard was not listening is caught up by its next
full read, every ``reload_interval``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
import structlog
from redis.exceptions import RedisError

from engine.admin.publishing import ShardChannels
from engine.loop.batching import BackgroundTasks
from engine.optout.config import OptOutConfig
from engine.optout.csvfile import csv_lines, header_line, parse_optout_csv
from engine.optout.mirror import OptOutMirror
from engine.optout.screen import OptOutScreen
from engine.optout.store import Entry, OptOutStore, Source
from ledger.redis_client import RedisClient

log = structlog.get_logger("smsgw.optout")

CHANGE_NUMBERS_MAX = 1_000
"""Numbers a published change names; a larger one makes peers read the list whole."""


class Change(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a shard publishes: whose list changed (None: the global list), and
    the numbers whose state to ask the store about (None: read it all)."""

    account: str | None
    numbers: list[str] | None = None


class OptOut:
    def __init__(
        self,
        store: OptOutStore,
        config: OptOutConfig,
        shard: str,
        namespace: str,
        redis: RedisClient | None = None,
    ) -> None:
        """``redis``: where changes are published to the other shards; None: this one only."""
        self.store = store
        self.config = config
        self.mirror = OptOutMirror()
        self.screen = OptOutScreen(self.mirror, config)
        self.channels = ShardChannels(shard, namespace, redis)
        self.channel = f"{namespace}:optout"
        self._reading = asyncio.Lock()
        """Full reads run one at a time (`OptOutMirror.begin_read`)."""
        self._tasks = BackgroundTasks()

    def listed(self, account: str | None, number: str) -> bool:
        """On this shard's copy of the list (None: the global list)."""
        return self.mirror.listed(account, number)

    async def add(self, account: str | None, numbers: Sequence[str], source: Source) -> list[str]:
        """Lists E.164 ``numbers`` (`engine.optout.numbers.check_number`);
        the ones that were not listed."""
        now = int(time.time() * 1000)
        return await self._add_entries(account, [Entry(number, now, source) for number in numbers])

    async def _add_entries(self, account: str | None, entries: Sequence[Entry]) -> list[str]:
        new = await self.store.add(account, entries)
        numbers = [entry.number for entry in entries]
        self.mirror.mark(account, numbers, True)
        await self._publish(account, numbers)
        return new

    async def import_csv(self, account: str | None, text: str) -> tuple[int, int]:
        """Lists the numbers of a CSV file (`engine.optout.csvfile`), all or
        none (`OptOutIssues`): how many were new, and how many the file held."""
        entries = parse_optout_csv(text, int(time.time() * 1000))
        return len(await self._add_entries(account, entries)), len(entries)

    async def remove(self, account: str | None, numbers: Sequence[str]) -> int:
        """How many of ``numbers`` were listed and are no longer."""
        removed = await self.store.remove(account, numbers)
        self.mirror.mark(account, numbers, False)
        await self._publish(account, list(numbers))
        return removed

    async def entry(self, account: str | None, number: str) -> Entry | None:
        """The store's entry (when and how it was listed), or None."""
        return await self.store.entry(account, number)

    async def export(self, account: str | None) -> AsyncIterator[str]:
        """The list as CSV (`engine.optout.csvfile`), slice by slice from the store."""
        yield header_line()
        async for entries in self.store.entries(account):
            yield csv_lines(entries)

    # -- this shard's copy ------------------------------------------------------

    async def load(self) -> None:
        """Reads every list whole: at start, and every ``reload_interval``."""
        for account in [None, *await self.store.accounts()]:
            await self._read(account)

    async def _read(self, account: str | None) -> None:
        async with self._reading:
            self.mirror.begin_read(account)
            numbers: set[str] = set()
            try:
                async for entries in self.store.entries(account):
                    numbers.update(entry.number for entry in entries)
            except BaseException:
                self.mirror.cancel_read(account)
                raise
            self.mirror.replace(account, numbers)

    async def _publish(self, account: str | None, numbers: list[str]) -> None:
        """A write that succeeded stays done when peers cannot be told: they
        read it at their next full read."""
        named = numbers if len(numbers) <= CHANGE_NUMBERS_MAX else None
        try:
            await self.channels.publish(self.channel, Change(account, named))
        except (RedisError, OSError) as exc:
            log.warning("opt-out change not published", list=account, error=str(exc))

    # -- the other shards' changes ----------------------------------------------

    async def watch(self, redis: RedisClient) -> None:
        """Applies what other shards publish and reads every list again each
        ``reload_interval``, until cancelled."""
        await self.channels.follow(
            redis,
            {self.channel: self.apply_published},
            self.load,
            self.config.reload_interval,
            "opt-out lists",
        )

    def apply_published(self, data: Any) -> None:
        """A change another shard made (`Change`); raises ValueError when it
        does not load (`ShardChannels` logs it and goes on)."""
        self._tasks.spawn(self._catch_up(msgspec.convert(data, Change)))

    async def _catch_up(self, change: Change) -> None:
        if change.numbers is None:
            await self._read(change.account)
            return
        listed = await self.store.listed(change.account, change.numbers)
        pairs = list(zip(change.numbers, listed, strict=True))
        self.mirror.mark(change.account, [number for number, on in pairs if on], True)
        self.mirror.mark(change.account, [number for number, on in pairs if not on], False)

    async def drain(self) -> None:
        """Waits for the changes heard and being applied."""
        await self._tasks.drain()
