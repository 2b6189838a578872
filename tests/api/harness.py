"""The HTTP front over a whole gateway (either backend) with a simulated operator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from redis.asyncio import Redis

from api.app import create_app
from bench.smsc_sim import SimulatedSmsc
from engine.api_keys import MemoryApiKeyStore, RedisApiKeyStore
from engine.facade import Engine
from tests.engine.gateway_harness import running_gateway, simulator


class Api:
    """A running shard, its facade, an HTTP client on the app, and one API key per account."""

    def __init__(self, engine: Engine, client: httpx.AsyncClient, keys: dict[str, str]) -> None:
        self.engine = engine
        self.client = client
        self.keys = keys

    def auth(self, account: str = "bank") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[account]}"}


@asynccontextmanager
async def running_api(
    backend: str,
    redis: Redis | None = None,
    namespace: str = "smsgw",
    operators: list[SimulatedSmsc] | None = None,
    **gateway_options: Any,
) -> AsyncIterator[Api]:
    """``running_gateway`` plus the app on an in-process ASGI transport (real
    app, real pipeline, real backends; only the HTTP socket is skipped)."""
    operators = operators if operators is not None else [simulator()]
    async with running_gateway(backend, operators, redis, namespace, **gateway_options) as gateway:
        store = RedisApiKeyStore(redis, namespace) if redis is not None else MemoryApiKeyStore()
        engine = Engine(gateway, store)
        keys = {}
        for account in gateway.accounts:
            _, keys[account] = await engine.issue_api_key(account, "test")
        transport = httpx.ASGITransport(app=create_app(engine))
        async with httpx.AsyncClient(transport=transport, base_url="http://smsgw.test") as client:
            yield Api(engine, client, keys)
