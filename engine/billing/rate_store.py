"""Where exchange rates are kept, and `ExchangeRates`, the book each shard holds.

Production keeps them in Redis, so every shard reads them with or without
PostgreSQL: one hash, ``{namespace}:billing:rates``, field
``BASE:QUOTE:<valid_from in Unix ms>``, value the rate (one key: one slot, so
a Cluster serves it as a node does). ``smsgw dev`` keeps them in memory.

Records are never edited (docs/billing.md): adding one again changes nothing,
and another rate for a pair and instant already held is refused
(`RateConflict`); a batch holding such a record adds none of its records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from engine.billing.rates import ExchangeRate, Rate, RateBook
from ledger.redis_client import RedisClient, as_text
from ledger.scripts import LuaScript

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)

_ADD = LuaScript(
    "add_exchange_rates",
    """#!lua
-- KEYS[1]: the rates hash; ARGV: field, rate, field, rate, ...
-- A field holding another rate: nothing is written, the answer is
-- {0, field, rate held, ...}; else every new field is set: {number added}.
local key = KEYS[1]
local conflicts = {0}
for i = 1, #ARGV, 2 do
  local held = redis.call('HGET', key, ARGV[i])
  if held and held ~= ARGV[i + 1] then
    conflicts[#conflicts + 1] = ARGV[i]
    conflicts[#conflicts + 1] = held
  end
end
if #conflicts > 1 then
  return conflicts
end
local added = 0
for i = 1, #ARGV, 2 do
  added = added + redis.call('HSETNX', key, ARGV[i], ARGV[i + 1])
end
return {added}
""",
)


class RateStore(Protocol):
    async def records(self) -> list[ExchangeRate]:
        """Every record, in no particular order."""
        ...

    async def add(self, records: Iterable[ExchangeRate]) -> int:
        """Keeps the records not held yet, all or none (`RateConflict`); how many were new."""
        ...


class RateConflict(ValueError):
    """Records of a pair and instant already held (or twice in one batch)
    with another rate: a rate changes by a new record from a new instant."""

    def __init__(self, conflicts: Iterable[tuple[ExchangeRate, str]]) -> None:
        self.conflicts = tuple(conflicts)
        """Each refused record, with the rate held for its pair and instant."""
        described = "; ".join(
            f"{record.base}->{record.quote} from {record.valid_from.isoformat()} is {held},"
            f" not {record.rate}"
            for record, held in self.conflicts
        )
        super().__init__(f"exchange rates are never edited: {described}")


def record_field(record: ExchangeRate) -> str:
    """``BASE:QUOTE:<valid_from in Unix ms>``: a record's place in a store."""
    millis = (record.valid_from - _EPOCH) // _MILLISECOND
    return f"{record.base}:{record.quote}:{millis}"


def _batch(records: Iterable[ExchangeRate]) -> dict[str, ExchangeRate]:
    """``records`` by field, once each; two rates for one field are refused."""
    batch: dict[str, ExchangeRate] = {}
    conflicts = []
    for record in records:
        kept = batch.setdefault(record_field(record), record)
        if kept.rate != record.rate:
            conflicts.append((record, kept.rate))
    if conflicts:
        raise RateConflict(conflicts)
    return batch


class MemoryRateStore:
    def __init__(self) -> None:
        self._records: dict[str, ExchangeRate] = {}

    async def records(self) -> list[ExchangeRate]:
        return list(self._records.values())

    async def add(self, records: Iterable[ExchangeRate]) -> int:
        batch = _batch(records)
        held = self._records
        conflicts = [
            (record, held[field].rate)
            for field, record in batch.items()
            if field in held and held[field].rate != record.rate
        ]
        if conflicts:
            raise RateConflict(conflicts)
        new = {field: record for field, record in batch.items() if field not in held}
        held.update(new)
        return len(new)


class RedisRateStore:
    """One Lua call per batch checks every record before it writes any: two
    shards adding conflicting records at once cannot both half succeed. A
    batch is one call however long (an import is rare, and at most
    `engine.billing.rates.MAX_CSV_ROWS` records)."""

    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self.redis = redis
        self.key = f"{namespace}:billing:rates"

    async def records(self) -> list[ExchangeRate]:
        held = await self.redis.hgetall(self.key)  # type: ignore[misc]  # redis-py's union
        return [self._record(as_text(field), as_text(rate)) for field, rate in held.items()]

    async def add(self, records: Iterable[ExchangeRate]) -> int:
        batch = _batch(records)
        if not batch:
            return 0
        args = [item for field, record in batch.items() for item in (field, record.rate)]
        answer = await _ADD(self.redis, [self.key], args)
        if len(answer) > 1:
            pairs = zip(answer[1::2], answer[2::2], strict=True)
            raise RateConflict((batch[as_text(field)], as_text(held)) for field, held in pairs)
        return int(answer[0])

    def _record(self, field: str, rate: str) -> ExchangeRate:
        try:
            base, quote, millis = field.split(":")
            valid_from = _EPOCH + int(millis) * _MILLISECOND
            return ExchangeRate(base=base, quote=quote, rate=rate, valid_from=valid_from)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{self.key}: field {field!r} = {rate!r}: {exc}") from exc


class ExchangeRates:
    """The rates a shard prices with: `book`, built from the store at `load`
    (at start, and when another shard says it changed them) and after `add`."""

    def __init__(self, store: RateStore) -> None:
        self.store = store
        self.book = RateBook(())
        self._loading = asyncio.Lock()
        """Loads run one at a time, so an older read never replaces a newer book."""

    async def load(self) -> RateBook:
        async with self._loading:
            self.book = RateBook(await self.store.records())
        return self.book

    async def add(self, records: Iterable[ExchangeRate]) -> int:
        """Stores ``records`` (see `RateStore.add`), then reloads the book."""
        added = await self.store.add(records)
        await self.load()
        return added

    def rate_at(self, base: str, quote: str, at: float) -> Rate | None:
        """`RateBook.rate_at` of the book in use: what the pricer holds is this
        service, as the book is replaced at each load."""
        return self.book.rate_at(base, quote, at)

    def records(self) -> list[ExchangeRate]:
        """The records of the book in use, by pair then ``valid_from``."""
        return list(self.book.records)
