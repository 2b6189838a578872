"""Fixtures of the engine tests: a whole gateway against simulated operators."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.cluster import (  # noqa: F401  (a node; a module with ON_BOTH, a cluster too)
    redis_either_fixture,
    redis_url_node_fixture,
)
from tests.engine.webhook_receiver import Receiver
from tests.services import (  # noqa: F401  (fixtures used by the tests of this folder)
    namespace_fixture,
)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A local HTTP receiver for webhooks, answering 200 unless scripted."""
    server = Receiver()
    await server.start()
    yield server
    await server.close()
