"""The fraud store in memory: one process's shards share one instance
(`smsgw dev`, tests); nothing survives a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from engine.fraud.counters import Buckets
from engine.fraud.settings import FraudSettings
from engine.fraud.store import Allowance, Block, Changed, FraudRecords, field


class MemoryFraudStore:
    def __init__(self) -> None:
        self._blocks: dict[str, Block] = {}
        self._allowances: dict[str, Allowance] = {}
        self._settings: dict[str, FraudSettings] = {}
        self._counts: dict[str, Buckets] = {}
        self._idle_until: dict[str, float] = {}
        """Monotonic time after which a key not counted again is forgotten."""
        self._watchers: list[Changed] = []

    async def records(self, now: float) -> FraudRecords:
        for name in [name for name, block in self._blocks.items() if block.over(now)]:
            del self._blocks[name]
        for name in [name for name, kept in self._allowances.items() if kept.until <= now]:
            del self._allowances[name]
        return FraudRecords(
            blocks=list(self._blocks.values()),
            allowances=list(self._allowances.values()),
            settings=dict(self._settings),
        )

    async def add_block(self, block: Block) -> bool:
        name = field(block.account, block.prefix)
        held = self._blocks.get(name)
        if held is not None and not held.over(block.since):
            return False
        self._blocks[name] = block
        self._changed()
        return True

    async def lift(self, account: str, prefix: str, allowance: Allowance | None) -> Block | None:
        name = field(account, prefix)
        block = self._blocks.pop(name, None)
        if allowance is not None:
            self._allowances[name] = allowance
        if block is not None or allowance is not None:
            self._changed()
        return block

    async def put_settings(self, account: str, settings: FraudSettings) -> None:
        self._settings[account] = settings
        self._changed()

    async def add_counts(
        self, deltas: Mapping[str, Mapping[int, int]], oldest: int, ttl: int
    ) -> dict[str, Buckets]:
        self._forget_idle()
        idle_until = time.monotonic() + ttl
        totals: dict[str, Buckets] = {}
        for key, added in deltas.items():
            self._idle_until[key] = idle_until
            buckets = self._counts.setdefault(key, {})
            for bucket, count in added.items():
                buckets[bucket] = buckets.get(bucket, 0) + count
            for bucket in [bucket for bucket in buckets if bucket < oldest]:
                del buckets[bucket]
            if not buckets:
                del self._counts[key]
            totals[key] = dict(buckets)
        return totals

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for key in [key for key, until in self._idle_until.items() if until <= now]:
            del self._idle_until[key]
            self._counts.pop(key, None)

    async def watch(self, changed: Changed) -> None:
        self._watchers.append(changed)
        try:
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            self._watchers.remove(changed)

    @property
    def watching(self) -> int:
        """Shards watching for changes (as PUBSUB NUMSUB counts Redis's)."""
        return len(self._watchers)

    def _changed(self) -> None:
        for changed in list(self._watchers):
            changed()
