"""Puts the sender-ID registry onto a running gateway (the composition root calls it)."""

from __future__ import annotations

from engine.gateway import Gateway
from engine.senders.policy import SenderPolicy
from engine.senders.service import RELOAD_INTERVAL, SenderRegistry
from engine.senders.store import SenderStore
from ledger.redis_client import RedisClient


async def install_senders(
    gateway: Gateway,
    store: SenderStore,
    redis: RedisClient | None = None,
    reload_interval: float = RELOAD_INTERVAL,
) -> SenderRegistry:
    """Reads the registry, then puts the sender check on the gateway's accept
    path. ``redis``: where this shard's decisions are published; run
    `SenderRegistry.watch` to hear the other shards'."""
    registry = SenderRegistry(
        store, gateway.config.shard, gateway.config.ledger.namespace, redis, reload_interval
    )
    await registry.load()
    gateway.pipeline.source_check = SenderPolicy(registry)
    return registry
