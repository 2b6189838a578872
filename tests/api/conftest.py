"""Fixtures of the API tests: a whole gateway and its HTTP front on either backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.api.harness import Api, Starter, running_api, starter
from tests.services import (  # noqa: F401  (fixtures used by the tests of this folder)
    namespace_fixture,
    redis_client_fixture,
)


@pytest.fixture(params=["memory", "redis"])
def start(request: pytest.FixtureRequest, redis_client: Redis, namespace: str) -> Starter:
    """Starts the API on each backend in turn (a test runs once per backend)."""
    return starter(request.param, redis_client, namespace)


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    """The memory backend, for what does not depend on the backend (the edge)."""
    async with running_api("memory") as running:
        yield running
