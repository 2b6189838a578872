"""Admin changes shared between shards on Redis pub/sub.

A shard publishes each account and routing change it makes on
``{namespace}:accounts`` and ``{namespace}:routing``; shards running `watch`
apply what the others publish. Nothing is kept: a shard started later knows
only its config file, and a change published while a shard's subscription is
being made again (its Redis node died) is missed by that shard.

On a Redis Cluster a PUBLISH reaches the subscribers of every node, so a
shard listens on one node at a time and, when that node goes, on the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
import structlog
from redis.exceptions import RedisError

from engine.loop.cancelling import run_together
from ledger.redis_client import RedisClient, node_client

log = structlog.get_logger("smsgw.admin")

Apply = Callable[[Any], None]
"""Applies the data of one change published by another shard."""
RESUBSCRIBE_DELAY = 1.0
"""Seconds between a lost subscription and the next attempt."""


class _Published(msgspec.Struct, frozen=True):
    """One change on the pub/sub channels; ``shard`` is where it was made."""

    shard: str
    data: Any


class ShardChannels:
    """The pub/sub channels of one shard's admin changes."""

    def __init__(self, shard: str, namespace: str, redis: RedisClient | None) -> None:
        self.shard = shard
        self.redis = redis
        """None: changes stay on this shard."""
        self.routing = f"{namespace}:routing"
        self.accounts = f"{namespace}:accounts"
        self.rates = f"{namespace}:rates"

    async def publish(self, channel: str, data: Any) -> None:
        if self.redis is not None:
            message = _Published(self.shard, msgspec.to_builtins(data))
            await self.redis.publish(channel, msgspec.json.encode(message))

    async def watch(self, redis: RedisClient, apply: Mapping[str, Apply]) -> None:
        """Apply what other shards publish on the channels of ``apply``, until
        cancelled; a lost subscription is made again (on the next node of a
        Cluster). A change that does not load is logged and skipped: the
        shard keeps what it has."""
        turn = 0
        while True:
            try:
                node, owned = await node_client(redis, turn)
                try:
                    await self._listen(node, apply)
                finally:
                    if owned:
                        await node.aclose()
            except (RedisError, OSError) as exc:
                log.warning("admin changes not heard; subscribing again", error=str(exc))
                turn += 1
                await asyncio.sleep(RESUBSCRIBE_DELAY)

    async def follow(
        self,
        redis: RedisClient,
        apply: Mapping[str, Apply],
        read_all: Callable[[], Awaitable[object]],
        interval: float,
        what: str,
    ) -> None:
        """`watch`, and ``read_all`` every ``interval`` seconds (0: never),
        until cancelled: what was published while this shard was not
        subscribed is caught up. A failed read is logged and tried next time."""
        listening = [self.watch(redis, apply)]
        if interval:
            listening.append(_read_every(interval, read_all, what))
        await run_together(*listening)

    async def _listen(self, node: RedisClient, apply: Mapping[str, Apply]) -> None:
        decode = msgspec.json.Decoder(_Published).decode
        async with node.pubsub() as pubsub:
            await pubsub.subscribe(*apply)
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                channel = message["channel"]
                channel = channel.decode() if isinstance(channel, bytes) else channel
                try:
                    published = decode(message["data"])
                    if published.shard != self.shard:
                        apply[channel](published.data)
                except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
                    log.error("published change refused", channel=channel, error=str(exc))


async def _read_every(
    interval: float, read_all: Callable[[], Awaitable[object]], what: str
) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await read_all()
        except (RedisError, OSError, ValueError) as exc:
            log.warning("shared store not read again", store=what, error=str(exc))
