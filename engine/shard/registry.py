"""Which shards are alive, and which live peer has taken over the outbox of
one that died (DESIGN: Sharding: "a restarted shard (or a peer that claims
it) sends what was accepted and not yet submitted").

Redis keys, outside the ledger buckets (one key per command, so Cluster is fine):

- ``{ns}:shards``: the set of shard names that ever beat (and still have work);
- ``{ns}:shard-alive:<shard>``: set with a TTL on every heartbeat; gone = dead;
- ``{ns}:shard-claim:<shard>``: who is sending ``<shard>``'s outbox now
  (a dead shard's adopter, or the shard itself while it recovers at start).

Delivery stays *at least once*, never at most once. A message can go out twice:
when a claimer dies after submitting an adopted message and before its outbox
entry is acknowledged, the next claimer (or the restarted owner) sends it
again; and when a shard is alive but silent for longer than the heartbeat TTL
(a stalled process, a network split from Redis), a peer adopts the outbox
while the owner may still be sending it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing

import structlog

from engine.messages.message import unpack_message
from engine.messages.pipeline import Pipeline
from ledger.protocol import Ledger
from ledger.redis_client import RedisClient
from ledger.scripts import LuaScript

log = structlog.get_logger("smsgw.shards")

_KEEP = LuaScript.from_package("engine.shard", "keep_claim")
_RELEASE = LuaScript.from_package("engine.shard", "release_claim")


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RedisShardRegistry:
    """Heartbeats and outbox claims of one shard, against the Redis every shard shares."""

    def __init__(
        self,
        redis: RedisClient,
        namespace: str,
        shard: str,
        *,
        heartbeat_ttl: float,
        claim_ttl: float,
    ) -> None:
        if heartbeat_ttl <= 0 or claim_ttl <= 0:
            raise ValueError("heartbeat_ttl and claim_ttl must be > 0")
        self.shard = shard
        self._redis = redis
        self._members = f"{namespace}:shards"
        self._alive = f"{namespace}:shard-alive:"
        self._claim = f"{namespace}:shard-claim:"
        self._heartbeat_ms = max(1, int(heartbeat_ttl * 1000))
        self._claim_ms = max(1, int(claim_ttl * 1000))

    async def beat(self) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._alive + self.shard, b"1", px=self._heartbeat_ms)
            pipe.sadd(self._members, self.shard)
            await pipe.execute()

    async def is_alive(self, shard: str) -> bool:
        return bool(await self._redis.exists(self._alive + shard))

    async def dead_peers(self) -> list[str]:
        """Known shards other than this one whose heartbeat has expired."""
        members = await self._redis.smembers(self._members)
        peers = sorted(name for m in members if (name := _text(m)) and name != self.shard)
        if not peers:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for peer in peers:
                pipe.exists(self._alive + peer)
            alive = await pipe.execute()
        return [peer for peer, exists in zip(peers, alive, strict=True) if not exists]

    async def claim(self, shard: str) -> bool:
        """Takes ``shard``'s outbox if nobody holds it; True when this shard now does."""
        return bool(
            await self._redis.set(self._claim + shard, self.shard, nx=True, px=self._claim_ms)
        )

    async def keep(self, shard: str) -> bool:
        """Extends this shard's claim; False when the claim is no longer ours."""
        return bool(await _KEEP(self._redis, [self._claim + shard], [self.shard, self._claim_ms]))

    async def release(self, shard: str) -> bool:
        """Gives the claim up, only if it is ours; True when it was."""
        return bool(await _RELEASE(self._redis, [self._claim + shard], [self.shard]))

    async def claimer_of(self, shard: str) -> str | None:
        return _text(await self._redis.get(self._claim + shard))

    async def forget(self, shard: str) -> None:
        """Stops scanning a dead shard whose outbox is empty (it re-adds itself on return)."""
        await self._redis.srem(self._members, shard)


class OutboxTakeover:
    """One shard's side of sharding: beat, recover its own outbox under a
    claim, adopt dead peers' outboxes, and hold each claim until every adopted
    message is settled (its entry acknowledged in the dead shard's outbox).

    Adopted messages keep their ids, prices and connectors; their holds are
    ledger records of the account, not of a shard, so this shard settles them.
    """

    def __init__(
        self,
        registry: RedisShardRegistry,
        ledger: Ledger,
        pipeline: Pipeline,
        *,
        interval: float,
        made_here: Callable[[str], bool],
        adopt_also: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        """``made_here`` tells the ids this process made: its own outbox
        entries that recovery must skip, as they are already on their way.
        ``adopt_also``: what else a dead shard left is taken over with its
        outbox (its stored receipts and MO, `CustomerDelivery.recover`)."""
        self.registry = registry
        self.ledger = ledger
        self.pipeline = pipeline
        self.interval = interval
        self._made_here = made_here
        self._adopt_also = adopt_also
        self.shard = registry.shard
        self.own_recovered = False
        self.held: set[str] = set()
        """Dead shards whose outbox this shard has claimed."""

    async def start(self, wait: float) -> None:
        """Beat, then recover this shard's outbox, waiting up to ``wait``
        seconds for a peer that adopted it to finish and release it (its
        claim lapses within the claim TTL if it died). If the peer still holds
        it then, the shard starts anyway and recovers in a later tick."""
        deadline = time.monotonic() + wait
        told = False
        while True:
            await self.registry.beat()
            if await self._recover_own():
                return
            if time.monotonic() >= deadline:
                log.warning("outbox still claimed by a peer; recovering later", shard=self.shard)
                return
            if not told:
                claimer = await self.registry.claimer_of(self.shard)
                log.info("waiting for a peer to release our outbox", claimer=claimer)
                told = True
            await asyncio.sleep(self.interval)

    async def run(self) -> None:
        """Tick every interval; a failing tick (Redis down) is logged and tried again."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("shard heartbeat or outbox takeover failed")
            await asyncio.sleep(self.interval)

    async def tick(self) -> None:
        await self.registry.beat()
        if not self.own_recovered:
            await self._recover_own()
        for dead in list(self.held):
            await self._keep_or_release(dead)
        for dead in await self.registry.dead_peers():
            if dead not in self.held:
                await self._adopt(dead)

    async def release_all(self) -> None:
        """On stop: what is still unsent of adopted outboxes goes to the next peer."""
        for dead in list(self.held):
            await self.registry.release(dead)
            self.held.discard(dead)

    async def _recover_own(self) -> bool:
        """Under our own claim, so no peer adopts the outbox meanwhile."""
        if not await self.registry.claim(self.shard):
            return False
        try:
            recovered = await self._take(None)
        finally:
            await self.registry.release(self.shard)
        self.own_recovered = True
        if recovered:
            log.info("outbox recovered", messages=recovered)
        return True

    async def _adopt(self, dead: str) -> None:
        if not await self.registry.claim(dead):
            return
        self.held.add(dead)
        # It may have come back between our scan and our claim (it beats before
        # it claims its own outbox, so after our claim this check is final).
        if await self.registry.is_alive(dead):
            await self.registry.release(dead)
            self.held.discard(dead)
            return
        adopted = await self._take(dead)
        if self._adopt_also is not None:
            await self._adopt_also(dead)
        log.warning("adopted a dead shard's outbox", dead=dead, messages=adopted)

    async def _keep_or_release(self, dead: str) -> None:
        if self.pipeline.outbox.adopted_left(dead):
            if not await self.registry.keep(dead):
                log.warning("lost the claim on a dead shard's outbox", dead=dead)
                self.held.discard(dead)
            return
        await self.registry.release(dead)
        self.held.discard(dead)
        if not await self._has_entries(dead) and not await self.registry.is_alive(dead):
            await self.registry.forget(dead)

    async def _take(self, shard: str | None) -> int:
        """Queue every entry of ``shard``'s outbox (None: ours) not already known here."""
        taken = 0
        async for entry in self.ledger.read_outbox(shard):
            message = unpack_message(entry.payload)
            if shard is None and self._made_here(message.id):
                continue
            if self.pipeline.outbox.remember(message.id, entry.entry_id, shard):
                self.pipeline.enqueue(message)
                taken += 1
        return taken

    async def _has_entries(self, shard: str) -> bool:
        entries = self.ledger.read_outbox(shard)
        async with aclosing(entries):  # type: ignore[type-var]
            async for _ in entries:
                return True
        return False
