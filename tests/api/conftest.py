"""Fixtures of the API tests: a whole gateway and its HTTP front on either backend."""

from __future__ import annotations

from tests.services import (  # noqa: F401  (fixtures used by the tests of this folder)
    namespace_fixture,
    redis_client_fixture,
)
