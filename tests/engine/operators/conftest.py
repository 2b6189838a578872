"""Fixtures of the operator tests: a scriptable SMSC over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.engine.smsc_fixture import Smsc


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    server = Smsc()
    await server.start()
    yield server
    await server.stop()
