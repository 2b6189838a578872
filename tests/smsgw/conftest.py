"""Fixtures of the command tests: a migrated PostgreSQL database per pytest process."""

from __future__ import annotations

from tests.cluster import (  # noqa: F401  (a test taking redis_url runs on a node and a cluster)
    redis_url_fixture,
)
from tests.services import (  # noqa: F401  (fixtures used by the tests of this folder)
    database_url_fixture,
    postgres_database_fixture,
)
