"""Fixtures of the engine tests: a whole gateway against simulated operators."""

from __future__ import annotations

from tests.services import (  # noqa: F401  (fixtures used by the tests of this folder)
    namespace_fixture,
    redis_client_fixture,
)
