"""Drains the bucket event streams into PostgreSQL: read, commit, then acknowledge.

The persister's buckets are shared among `workers` (bucket modulo workers),
each with its own PostgreSQL connection, so one commits while another reads
or decodes. A worker reads each of its bucket streams through the consumer
group (XREADGROUP), one command per stream in one pipeline: a command never
names two streams, so it works on one Redis node and on a Cluster alike. It
writes a round in one PostgreSQL transaction (`EventStore`), and only then
XACKs it and trims what the group has acknowledged. A crash anywhere in
between leaves the round pending under this consumer's name; on start the
persister reads its own pending entries first, and applying them again
changes nothing. While PostgreSQL is down a worker retries the same round with
backoff and reads nothing new, so it catches up in order when it returns.
Between rounds `run()` rests `linger_ms` unless a stream filled its batch, so
a round holds more of each message's changes and PostgreSQL writes a
message's row fewer times.

`run()` also keeps the time partitions: the next days made ahead, days older
than `retention_days` dropped (ledger.postgres.partitions), at start and hourly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ledger.config import LedgerConfig, PersisterConfig
from ledger.events import Event, decode_entry
from ledger.layout import LedgerKeys
from ledger.pgstore import EventStore
from ledger.retry import Backoff
from ledger.scripts import LuaScript

log = logging.getLogger(__name__)

DATABASE_DOWN = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)

Entry = tuple[int, str, list[bytes]]  # bucket, stream entry id, fields (name, value, ...)


_ACK = LuaScript.from_files("ack_events", ledger_state=False)
"""XACK of the space-separated ids in ARGV[2]: redis-py packs each argument of
a command in Python, and 2,000 ids as arguments of XACK cost 0.84 us each,
as one argument 0.02 us (1,000 per call stays well inside Lua's stack)."""


_MAINTENANCE_INTERVAL = 3_600.0
"""Seconds between two rounds of partition upkeep: days are made well ahead."""


_READ = LuaScript.from_files("read_events", ledger_state=False)


def _streams_lost(error: ResponseError) -> bool:
    """The group or stream vanished (Redis restarted without its data): recreate, go on."""
    text = str(error)  # a pipeline's error names the command first
    return "NOGROUP" in text or "UNBLOCKED" in text


class Persister:
    """Moves ledger and message events from Redis to PostgreSQL; see the module docstring."""

    def __init__(
        self,
        redis: Redis,
        store: EventStore,
        ledger_config: LedgerConfig | None = None,
        config: PersisterConfig | None = None,
        *,
        buckets: Sequence[int] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.config = config or PersisterConfig()
        ledger_config = ledger_config or LedgerConfig()
        keys = LedgerKeys(ledger_config.namespace, ledger_config.buckets)
        chosen = list(range(ledger_config.buckets) if buckets is None else buckets)
        self._stream_of = {bucket: keys.events(bucket) for bucket in chosen}
        workers = max(1, min(self.config.workers, len(chosen)))
        self._lanes = [chosen[lane::workers] for lane in range(workers)]
        self._redis = redis
        self._store = store
        self._backoff = backoff or Backoff(self.config.retry_base, self.config.retry_cap)
        self._trim = LuaScript.from_files("trim_events", ledger_state=False)
        self._stopping = False
        self._woken = asyncio.Event()
        self.persisted = 0
        """Events committed and acknowledged by this persister (a metric)."""
        self.database_failures = 0
        """Writes that failed because PostgreSQL was unreachable (a metric)."""

    @property
    def streams(self) -> list[str]:
        """The bucket event streams this persister drains (its lag is read over them)."""
        return list(self._stream_of.values())

    async def prepare(self) -> None:
        """Creates the consumer group on every stream (from its start) unless it exists."""
        for stream in self._stream_of.values():
            try:
                await self._redis.xgroup_create(stream, self.config.group, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

    async def run(self) -> None:
        """Persists until `stop()`; survives Redis and PostgreSQL outages.

        Stopping is cooperative: each worker finishes the round in hand.
        """
        self._woken.clear()
        keeping = asyncio.create_task(self._keep_partitions())
        try:
            await asyncio.gather(*(self._run_lane(lane) for lane in range(len(self._lanes))))
        finally:
            while not keeping.done():  # cancelled again: 3.11 may lose one (engine.loop.cancelling)
                keeping.cancel()
                await asyncio.wait({keeping}, timeout=1.0)

    async def _run_lane(self, lane: int) -> None:
        redis_failures = 0
        while not self._stopping:
            try:
                await self.prepare()
                await self._drain(lane, pending=True)
                while not self._stopping:
                    await self._round(lane)
                    redis_failures = 0
            except (*REDIS_DOWN, ResponseError) as error:
                if isinstance(error, ResponseError) and not _streams_lost(error):
                    raise
                redis_failures += 1
                log.warning("redis unreachable or reset, retrying", extra={"error": repr(error)})
                await self._rest(self._backoff.compute(redis_failures))

    async def _round(self, lane: int) -> None:
        """Reads and commits one round, then rests: `block_ms` when it found
        nothing, `linger_ms` when no stream filled its batch, not at all when
        one did (more is waiting)."""
        entries = await self._read(lane, pending=False)
        if not entries:
            await self._rest(self.config.block_ms / 1000)
            return
        await self._commit(lane, entries)
        if self.config.linger_ms and not self._full(entries):
            await self._rest(self.config.linger_ms / 1000)

    def _full(self, entries: list[Entry]) -> bool:
        """Whether some stream gave a whole batch (entries come stream by stream)."""
        batch = self.config.batch_size
        if len(entries) < batch:
            return False
        counts: dict[int, int] = {}
        for bucket, _, _ in entries:
            counts[bucket] = counts.get(bucket, 0) + 1
        return max(counts.values()) >= batch

    async def _rest(self, seconds: float) -> None:
        """Sleeps, or less if `stop()` comes meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), seconds)

    async def _keep_partitions(self) -> None:
        """Partitions made ahead, old days dropped: at start, then every hour."""
        while True:
            try:
                seconds, micros = await self._redis.time()
                dropped = await self._store.maintain(
                    now_ms=seconds * 1000 + micros // 1000,
                    ahead_days=self.config.partitions_ahead_days,
                    retention_days=self.config.retention_days,
                )
                if dropped:
                    log.info("dropped old message partitions", extra={"partitions": dropped})
            except (*DATABASE_DOWN, *REDIS_DOWN, asyncpg.PostgresError) as error:
                log.warning("keeping partitions failed", extra={"error": repr(error)})
            await asyncio.sleep(_MAINTENANCE_INTERVAL)

    def stop(self) -> None:
        """Asks `run()` to return after the rounds in hand are committed and acknowledged."""
        self._stopping = True
        self._woken.set()

    async def drain(self) -> int:
        """Persists what is pending and what is waiting now, then returns how many events.

        It clears an earlier `stop()`: draining after a stop is how a shutdown finishes.
        """
        before = self.persisted
        self._stopping = False
        self._woken.clear()
        await self.prepare()
        await asyncio.gather(*(self._drain_lane(lane) for lane in range(len(self._lanes))))
        return self.persisted - before

    async def _drain_lane(self, lane: int) -> None:
        await self._drain(lane, pending=True)
        await self._drain(lane, pending=False)

    async def _drain(self, lane: int, *, pending: bool) -> None:
        """Reads and commits rounds until one comes back empty."""
        while not self._stopping:
            entries = await self._read(lane, pending=pending)
            if not entries:
                break
            await self._commit(lane, entries)

    async def _read(self, lane: int, *, pending: bool) -> list[Entry]:
        """Own pending entries (id 0: delivered, never acknowledged) or new ones (id >),
        one XREADGROUP per stream of the lane (`read_events.lua`), pipelined."""
        try:
            replies = await self._read_streams(lane, "0" if pending else ">")
        except NoScriptError:  # a restarted or flushed Redis
            await _READ.load(self._redis)
            replies = await self._read_streams(lane, "0" if pending else ">")
        entries: list[Entry] = []
        for bucket, reply in zip(self._lanes[lane], replies, strict=True):
            entries.extend((bucket, entry_id.decode(), flat or []) for entry_id, flat in reply)
        return entries

    async def _read_streams(self, lane: int, start: str) -> list[list[tuple[bytes, list[bytes]]]]:
        config = self.config
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in self._lanes[lane]:
                stream = self._stream_of[bucket]
                pipe.evalsha(
                    _READ.sha, 1, stream, config.group, config.consumer, config.batch_size, start
                )
            return await pipe.execute()  # type: ignore[no-any-return]

    async def _commit(self, lane: int, entries: list[Entry]) -> None:
        events: list[Event] = []
        vanished: list[str] = []
        for bucket, entry_id, fields in entries:
            if not fields:  # deleted while pending: never by us, see trim_events.lua
                vanished.append(f"{bucket}-{entry_id}")
                continue
            events.extend(decode_entry(bucket, entry_id, fields))
        if vanished:  # one line per round, not one per event
            log.error(
                "events vanished before they were persisted",
                extra={"events": len(vanished), "first": vanished[0]},
            )
        await self._write(lane, events)
        await self.acknowledge(entries)
        self.persisted += len(events)

    async def _write(self, lane: int, events: list[Event]) -> None:
        failures = 0
        while True:
            try:
                await self._store.write(events, lane)
                return
            except DATABASE_DOWN as error:
                failures += 1
                self.database_failures += 1
                log.warning(
                    "postgresql unreachable, retrying",
                    extra={"events": len(events), "error": repr(error)},
                )
                await self._store.reset(lane)
                await asyncio.sleep(self._backoff.compute(failures))

    async def acknowledge(self, entries: list[Entry]) -> None:
        """XACKs committed entries, then trims what the group no longer needs:
        both scripts for every stream in one round trip."""
        by_bucket: dict[int, list[str]] = {}
        for bucket, entry_id, _ in entries:
            ids = by_bucket.get(bucket)
            if ids is None:
                ids = by_bucket[bucket] = []
            ids.append(entry_id)
        group = self.config.group
        try:
            await self._ack_and_trim(group, by_bucket)
        except NoScriptError:  # a restarted or flushed Redis; acking twice changes nothing
            await _ACK.load(self._redis)
            await self._trim.load(self._redis)
            await self._ack_and_trim(group, by_bucket)

    async def _ack_and_trim(self, group: str, by_bucket: dict[int, list[str]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket, ids in by_bucket.items():
                stream = self._stream_of[bucket]
                pipe.evalsha(_ACK.sha, 1, stream, group, " ".join(ids))
                pipe.evalsha(self._trim.sha, 1, stream, group)
            await pipe.execute()
