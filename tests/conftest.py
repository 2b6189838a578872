"""Shared test configuration."""

from tests.cluster import (  # noqa: F401  (one local Redis Cluster per pytest process, if asked)
    cluster_fixture,
    cluster_url_fixture,
)
