"""The HTTP front over a whole gateway (either backend) with a simulated operator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from redis.asyncio import Redis
from starlette.applications import Starlette

from api.app import create_app
from bench.smsc_sim import SimulatedSmsc
from engine.billing.facade import Billing
from engine.customers.api_keys import MemoryApiKeyStore, RedisApiKeyStore
from engine.customers.idempotency import MemoryIdempotencyStore, RedisIdempotencyStore
from engine.facade import Engine
from ledger.memory_messages import MemoryMessageStore
from tests.engine.gateway_harness import running_gateway, simulator


class Api:
    """A running shard, its facade, an HTTP client on the app, and one API key per account."""

    def __init__(
        self,
        engine: Engine,
        client: httpx.AsyncClient,
        keys: dict[str, str],
        app: Starlette | None = None,
    ) -> None:
        self.engine = engine
        self.client = client
        self.keys = keys
        self.app = app

    def auth(self, account: str = "bank") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[account]}"}


@asynccontextmanager
async def running_api(
    backend: str,
    redis: Redis | None = None,
    namespace: str = "smsgw",
    operators: list[SimulatedSmsc] | None = None,
    database_url: str | None = None,
    **gateway_options: Any,
) -> AsyncIterator[Api]:
    """``running_gateway`` plus the app on an in-process ASGI transport (real
    app, real pipeline, real backends; only the HTTP socket is skipped).
    ``database_url``: billing's PostgreSQL (payments, invoices, CDRs)."""
    operators = operators if operators is not None else [simulator()]
    history = MemoryMessageStore() if backend == "memory" else None
    async with running_gateway(
        backend, operators, redis, namespace, history=history, **gateway_options
    ) as gateway:
        store = RedisApiKeyStore(redis, namespace) if redis is not None else MemoryApiKeyStore()
        idempotency = (
            RedisIdempotencyStore(redis, namespace)
            if redis is not None
            else MemoryIdempotencyStore()
        )
        billing = Billing(gateway, gateway.rates, database_url)
        engine = Engine(gateway, store, history, idempotency, redis=redis, billing=billing)
        keys = {}
        for account in gateway.accounts:
            _, keys[account] = await engine.issue_api_key(account, "test")
        app = create_app(engine)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://smsgw.test"
            ) as client:
                yield Api(engine, client, keys, app)
        finally:
            await billing.close()


Starter = Callable[..., AbstractAsyncContextManager[Api]]


def starter(backend: str, redis: Redis, namespace: str) -> Starter:
    """`running_api` on ``backend`` ("memory" or "redis") with options passed
    through: what a test parametrized over both backends calls."""

    def start(**options: Any) -> AbstractAsyncContextManager[Api]:
        return running_api(backend, redis if backend == "redis" else None, namespace, **options)

    return start
