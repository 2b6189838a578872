"""Counts in time buckets, decided in memory and shared between shards.

The guard runs per message on the accept path, so it never waits for Redis:
each shard counts into its own memory, and every `FraudConfig.sync_interval`
adds what it counted to the store and reads back the cluster's totals of the
keys it counted or looked at since the last exchange. A count is the
cluster's totals as last read plus this shard's counts not yet added. So
what the other shards counted since then is missing: a limit holds
cluster-wide within what the shards pass in one interval.

A window is whole buckets: the bucket holding its start to the one holding
its end. It may count up to one bucket more than the exact window, never less.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

Buckets = dict[int, int]
"""Bucket number (Unix time // bucket seconds) -> count."""


class CountStore(Protocol):
    async def add_counts(
        self, deltas: Mapping[str, Mapping[int, int]], oldest: int, ttl: int
    ) -> dict[str, Buckets]:
        """Adds each key's deltas (maybe none) to its buckets; forgets buckets
        before ``oldest``; answers each key's buckets from ``oldest`` on, as
        every shard counted them. A key idle for ``ttl`` seconds is forgotten."""
        ...


class SharedCounters:
    """One kind of count (per minute, per hour) over many keys."""

    def __init__(self, name: str, bucket: int, horizon: int) -> None:
        if bucket < 1 or horizon < 1:
            raise ValueError(f"{name}: bucket and horizon must be at least 1")
        self.name = name
        self.bucket = bucket
        """Seconds per bucket."""
        self.horizon = horizon
        """Buckets kept behind the current one: the longest window asked."""
        self._held: dict[str, Buckets] = {}
        """The cluster's totals as last read (this shard's added counts in them)."""
        self._pending: dict[str, Buckets] = {}
        """This shard's counts not yet added to the store."""
        self._seen: set[str] = set()
        """Keys counted or looked at since the last exchange: read back then."""
        self._swept = 0

    def bucket_of(self, at: float) -> int:
        return int(at // self.bucket)

    def add(self, key: str, at: float, count: int = 1) -> None:
        bucket = int(at // self.bucket)
        pending = self._pending.get(key)
        if pending is None:
            self._pending[key] = {bucket: count}
        else:
            pending[bucket] = pending.get(bucket, 0) + count

    def count(self, key: str, first: int, last: int) -> int:
        """The count of buckets ``first`` to ``last``, both included."""
        self._seen.add(key)
        total = 0
        for buckets in (self._held.get(key), self._pending.get(key)):
            if buckets:
                for bucket, count in buckets.items():
                    if first <= bucket <= last:
                        total += count
        return total

    def window(self, key: str, seconds: float, now: float) -> int:
        """The count of the last ``seconds`` up to ``now``."""
        return self.count(key, int((now - seconds) // self.bucket), int(now // self.bucket))

    async def exchange(self, store: CountStore, now: float) -> None:
        """Adds this shard's counts to ``store`` and reads back the totals of
        every key counted or looked at since the last exchange. On a store
        error nothing is lost: the counts are added at the next exchange."""
        pending, self._pending = self._pending, {}
        keys, self._seen = self._seen | pending.keys(), set()
        if not keys:
            return
        oldest = self.bucket_of(now) - self.horizon
        ttl = (self.horizon + 2) * self.bucket
        try:
            totals = await store.add_counts(
                {key: pending.get(key, {}) for key in keys}, oldest, ttl
            )
        except BaseException:
            self._restore(pending, keys)
            raise
        for key in keys:
            self._held[key] = totals.get(key, {})
        if oldest - self._swept >= 1:
            self._sweep(oldest)

    def _restore(self, pending: dict[str, Buckets], keys: set[str]) -> None:
        for key, buckets in pending.items():
            mine = self._pending.setdefault(key, {})
            for bucket, count in buckets.items():
                mine[bucket] = mine.get(bucket, 0) + count
        self._seen |= keys

    def _sweep(self, oldest: int) -> None:
        """Forgets buckets (and keys) older than the horizon, once per bucket."""
        self._swept = oldest
        for key in list(self._held):
            buckets = self._held[key]
            stale = [bucket for bucket in buckets if bucket < oldest]
            for bucket in stale:
                del buckets[bucket]
            if not buckets:
                del self._held[key]

    def __len__(self) -> int:
        """Keys held in memory (for the docs' memory budget and tests)."""
        return len(self._held.keys() | self._pending.keys())
