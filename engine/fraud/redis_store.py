"""The fraud store in Redis, shared by every shard of a namespace.

Keys (each its own Cluster slot; no call touches two of them at once):

- ``{namespace}:fraud:blocks``: hash, field ``account:prefix``, a `Block` as JSON;
- ``{namespace}:fraud:allowances``: hash, same fields, an `Allowance`;
- ``{namespace}:fraud:accounts``: hash, field the account, its `FraudSettings`;
- ``{namespace}:fraud:count:<kind>:<account>:<digits>``: hash of bucket ->
  count (`lua/add_counts.lua`), with a TTL of its longest window;
- channel ``{namespace}:fraud``: a change was made; peers read the records again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import structlog
from redis.exceptions import NoScriptError

from engine.admin.publishing import ShardChannels
from engine.fraud.counters import Buckets
from engine.fraud.settings import FraudSettings
from engine.fraud.store import Allowance, Block, Changed, FraudRecords, field
from ledger.redis_client import RedisClient
from ledger.scripts import LuaScript

log = structlog.get_logger("smsgw.fraud")

_ADD_COUNTS = LuaScript.from_package("engine.fraud", "add_counts")
_decode_block = msgspec.json.Decoder(Block).decode
_decode_allowance = msgspec.json.Decoder(Allowance).decode
_decode_settings = msgspec.json.Decoder(FraudSettings).decode


class RedisFraudStore:
    def __init__(self, redis: RedisClient, namespace: str, shard: str) -> None:
        self.redis = redis
        self.blocks_key = f"{namespace}:fraud:blocks"
        self.allowances_key = f"{namespace}:fraud:allowances"
        self.settings_key = f"{namespace}:fraud:accounts"
        self._counts = f"{namespace}:fraud:count:"
        self._channels = ShardChannels(shard, namespace, redis)
        self.channel = f"{namespace}:fraud"

    async def records(self, now: float) -> FraudRecords:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.blocks_key)
            pipe.hgetall(self.allowances_key)
            pipe.hgetall(self.settings_key)
            blocks, allowances, settings = await pipe.execute()
        held_blocks = _decoded(self.blocks_key, blocks, _decode_block)
        held_allowances = _decoded(self.allowances_key, allowances, _decode_allowance)
        ended_blocks = [name for name, block in held_blocks.items() if block.over(now)]
        ended_allowances = [name for name, kept in held_allowances.items() if kept.until <= now]
        if ended_blocks or ended_allowances:
            async with self.redis.pipeline(transaction=False) as pipe:
                if ended_blocks:
                    pipe.hdel(self.blocks_key, *ended_blocks)
                if ended_allowances:
                    pipe.hdel(self.allowances_key, *ended_allowances)
                await pipe.execute()
        return FraudRecords(
            blocks=[b for name, b in held_blocks.items() if name not in ended_blocks],
            allowances=[a for name, a in held_allowances.items() if name not in ended_allowances],
            settings=_decoded(self.settings_key, settings, _decode_settings),
        )

    async def add_block(self, block: Block) -> bool:
        name = field(block.account, block.prefix)
        value = msgspec.json.encode(block)
        added = await self.redis.hsetnx(self.blocks_key, name, value)  # type: ignore[misc]
        if not added:  # one held: replaced only when it has ended
            held = await self.redis.hget(self.blocks_key, name)  # type: ignore[misc]
            added = held is None or _ended(held, block.since)
            if added:
                await self.redis.hset(self.blocks_key, name, value)  # type: ignore[misc]
        if added:
            await self._changed("block")
        return bool(added)

    async def lift(self, account: str, prefix: str, allowance: Allowance | None) -> Block | None:
        name = field(account, prefix)
        held = await self.redis.hget(self.blocks_key, name)  # type: ignore[misc]
        if held is not None and not await self.redis.hdel(self.blocks_key, name):  # type: ignore[misc]
            held = None  # another shard lifted it meanwhile
        if allowance is not None:
            await self.redis.hset(self.allowances_key, name, msgspec.json.encode(allowance))  # type: ignore[misc]
        if held is not None or allowance is not None:
            await self._changed("lift")
        return None if held is None else _decode_block(held)

    async def put_settings(self, account: str, settings: FraudSettings) -> None:
        await self.redis.hset(self.settings_key, account, msgspec.json.encode(settings))  # type: ignore[misc]
        await self._changed("settings")

    async def add_counts(
        self, deltas: Mapping[str, Mapping[int, int]], oldest: int, ttl: int
    ) -> dict[str, Buckets]:
        calls = {
            key: [oldest, ttl, *(item for pair in added.items() for item in pair)]
            for key, added in deltas.items()
        }
        answers = await self._add(calls)
        if any(isinstance(answer, NoScriptError) for answer in answers.values()):
            await _ADD_COUNTS.load(self.redis)  # a restarted or flushed node: those calls again
            redo = {key: calls[key] for key, a in answers.items() if isinstance(a, NoScriptError)}
            answers |= await self._add(redo)
        totals: dict[str, Buckets] = {}
        for key, answer in answers.items():
            if isinstance(answer, Exception):
                raise answer
            totals[key] = {int(b): int(c) for b, c in zip(answer[::2], answer[1::2], strict=True)}
        return totals

    async def _add(self, calls: dict[str, list[int]]) -> dict[str, Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, args in calls.items():
                pipe.evalsha(_ADD_COUNTS.sha, 1, self._counts + key, *args)
            answers = await pipe.execute(raise_on_error=False)
        return dict(zip(calls, answers, strict=True))

    async def watch(self, changed: Changed) -> None:
        await self._channels.watch(self.redis, {self.channel: lambda _data: changed()})

    async def _changed(self, what: str) -> None:
        await self._channels.publish(self.channel, {"changed": what})


def _ended(held: bytes, now: float) -> bool:
    """Whether a stored block has ended (one that does not load is replaced)."""
    try:
        return _decode_block(held).over(now)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return True


def _decoded(key: str, held: dict[Any, bytes], decode: Any) -> dict[str, Any]:
    """Each field's record; one that does not load is logged and left out
    (the shard keeps going with the others)."""
    records = {}
    for name, raw in held.items():
        text = name.decode() if isinstance(name, bytes) else name
        try:
            records[text] = decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("fraud record not loaded", key=key, field=text, error=str(exc))
    return records
