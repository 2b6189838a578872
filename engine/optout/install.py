"""Puts opt-out lists onto a running gateway (the composition root calls it)."""

from __future__ import annotations

from engine.gateway import Gateway
from engine.optout.config import OptOutConfig
from engine.optout.service import OptOut
from engine.optout.stop import StopRequests
from engine.optout.store import OptOutStore
from ledger.redis_client import RedisClient


async def install_optout(
    gateway: Gateway,
    store: OptOutStore,
    config: OptOutConfig | None = None,
    redis: RedisClient | None = None,
) -> OptOut:
    """Reads the lists, then puts the screen on the gateway's accept path and
    the stop keywords on its MO intake. ``redis``: where this shard's changes
    are published; run `OptOut.watch` to hear the other shards'."""
    optout = OptOut(
        store,
        config or OptOutConfig(),
        gateway.config.shard,
        gateway.config.ledger.namespace,
        redis,
    )
    await optout.load()
    gateway.pipeline.screens.append(optout.screen)
    gateway.pipeline.mo.on_mo = StopRequests(optout, gateway.pipeline, gateway.accounts)
    return optout
