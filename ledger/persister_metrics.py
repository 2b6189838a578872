"""How far the persister is behind the bucket event streams, for Prometheus.

Lag is read from Redis, not from the persister's own progress: a persister
stuck on a PostgreSQL outage (retrying one batch) or gone altogether still
shows its backlog growing. Events behind are the group's undelivered entries
(XINFO GROUPS ``lag``) plus those delivered and not acknowledged
(``pending``); seconds behind are the age of the oldest of them, by the
Redis clock that stamped their ids. Every persister of a group shows the
same figures: dashboards take ``max``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence

import msgspec
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from redis.asyncio import Redis

from ledger.persister import Persister

log = logging.getLogger(__name__)

INTERVAL = 5.0
"""Seconds between readings of the lag."""


class Lag(msgspec.Struct, frozen=True):
    events: int
    """Entries the group has not acknowledged, every stream together."""
    seconds: float
    """Age of the oldest of them; 0 when there is none."""


def _ms(entry_id: bytes | str) -> int:
    """The millisecond part of a stream entry id (``<ms>-<seq>``)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.partition("-")[0])


async def measure_lag(redis: Redis, streams: Sequence[str], group: str) -> Lag:
    """Three round trips: the server's clock (apart, as a cluster pipeline
    refuses TIME), each stream's group figures, then the oldest unacknowledged id."""
    seconds, micros = await redis.time()
    now_ms = seconds * 1000 + micros // 1000
    async with redis.pipeline(transaction=False) as pipe:
        for stream in streams:
            pipe.xinfo_groups(stream)
            pipe.xlen(stream)
        replies = await pipe.execute(raise_on_error=False)
    events = 0
    behind: list[tuple[str, dict[str, object]]] = []
    for index, stream in enumerate(streams):
        groups, length = replies[2 * index], replies[1 + 2 * index]
        if isinstance(groups, Exception):  # no stream yet: nothing written to it
            continue
        found = next((g for g in groups if g["name"] in (group, group.encode())), None)
        if found is None:
            continue
        pending = int(found["pending"])
        lag = found["lag"]
        # lag is unknown after deletions past the group's position: the length bounds it.
        undelivered = int(lag) if lag is not None else int(length)
        if pending or undelivered:
            events += pending + undelivered
            behind.append((stream, found))
    oldest = await _oldest_ms(redis, group, behind)
    age = max(0, now_ms - oldest) / 1000 if oldest is not None else 0.0
    return Lag(events, age)


async def _oldest_ms(
    redis: Redis, group: str, behind: list[tuple[str, dict[str, object]]]
) -> int | None:
    """The oldest pending entry of each stream, or its first undelivered one."""
    if not behind:
        return None
    async with redis.pipeline(transaction=False) as pipe:
        for stream, found in behind:
            if found["pending"]:
                pipe.xpending(stream, group)
            else:
                after = found["last-delivered-id"]
                pipe.xrange(stream, min=b"(" + _as_bytes(after), count=1)
        replies = await pipe.execute()
    oldest: list[int] = []
    for reply in replies:
        if isinstance(reply, dict) and reply.get("min"):
            oldest.append(_ms(reply["min"]))
        elif isinstance(reply, list) and reply:
            oldest.append(_ms(reply[0][0]))
    return min(oldest, default=None)


def _as_bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class PersisterMetrics:
    """The persister's counters and its last lag reading, as a Prometheus collector."""

    def __init__(self, persister: Persister, redis: Redis) -> None:
        self._persister = persister
        self._redis = redis
        self.lag: Lag | None = None
        """None until the first reading, so a scrape never shows a lag of 0 it never saw."""

    async def refresh(self) -> Lag:
        persister = self._persister
        self.lag = await measure_lag(self._redis, persister.streams, persister.config.group)
        return self.lag

    async def run(self, interval: float = INTERVAL) -> None:
        """Reads the lag until cancelled; while Redis is down the last reading stays."""
        while True:
            try:
                await self.refresh()
            except Exception as error:
                log.warning("reading the persister lag failed", extra={"error": repr(error)})
            await asyncio.sleep(interval)

    def collect(self) -> Iterator[Metric]:
        persister = self._persister
        yield CounterMetricFamily(
            "smsgw_persister_events",
            "Events committed to PostgreSQL and acknowledged by this persister.",
            value=persister.persisted,
        )
        yield CounterMetricFamily(
            "smsgw_persister_database_failures",
            "Batch writes that failed because PostgreSQL was unreachable (each retried).",
            value=persister.database_failures,
        )
        events = GaugeMetricFamily(
            "smsgw_persister_lag_events",
            "Stream entries not yet persisted (delivered or not): the money events"
            " of one ledger call share one, as do the message events of one write.",
        )
        seconds = GaugeMetricFamily(
            "smsgw_persister_lag_seconds",
            "Age of the oldest event not yet persisted; 0 when caught up.",
        )
        if self.lag is not None:
            events.add_metric([], self.lag.events)
            seconds.add_metric([], self.lag.seconds)
        yield events
        yield seconds
