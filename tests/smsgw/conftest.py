"""Fixtures of the command tests: a migrated PostgreSQL database per pytest process."""

from __future__ import annotations

from tests.services import (  # noqa: F401  (fixtures used by the tests of this folder)
    database_url_fixture,
    postgres_database_fixture,
)
