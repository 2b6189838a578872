"""A real local Redis Cluster for the tests, and fixtures that run a test on
one node and on the cluster.

``cluster_url`` starts one cluster per pytest process (`bench.redis_cluster`:
three masters, three replicas on free loopback ports, a few seconds) the first
time a test asks for it, and stops it at the end; the root conftest.py holds
it, so every folder shares the one cluster. ``redis_url`` is
parametrized ``node``/``cluster``; ``redis_client`` built on it gives a test
either client. A conftest imports these in place of `tests.services`'
``redis_client`` to run its folder's tests on both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import RedisCluster

from bench.redis_cluster import LocalCluster
from ledger.redis_client import RedisClient, open_redis
from tests.services import REDIS_URL

TIMEOUT = 10.0
CONNECTIONS = 32


@pytest.fixture(name="cluster", scope="session")
def cluster_fixture() -> Iterator[LocalCluster]:
    """The process's local cluster, started on first use."""
    with LocalCluster() as cluster:
        yield cluster


@pytest.fixture(name="cluster_url", scope="session")
def cluster_url_fixture(cluster: LocalCluster) -> str:
    return cluster.url


BOTH = ["node", "cluster"]
ON_BOTH = pytest.mark.parametrize("redis_url", BOTH, indirect=True)
"""``pytestmark = ON_BOTH``: this module's tests run on both, in a folder
whose conftest takes ``redis_url_node_fixture`` (node only unless asked)."""
ON_EACH_BACKEND = pytest.mark.parametrize(
    ("backend", "redis_url"),
    [("memory", "node"), ("redis", "node"), ("redis", "cluster")],
    indirect=["redis_url"],
)
"""As ``ON_BOTH``, for a module whose tests also take ``backend`` (memory or redis)."""


def _url(request: pytest.FixtureRequest, where: str) -> str:
    if where == "node":
        return REDIS_URL
    url: str = request.getfixturevalue("cluster_url")
    return url


@pytest.fixture(name="redis_url", params=BOTH)
def redis_url_fixture(request: pytest.FixtureRequest) -> str:
    """The shared single node, then the local cluster (started only if asked)."""
    return _url(request, request.param)


@pytest.fixture(name="redis_url")
def redis_url_node_fixture(request: pytest.FixtureRequest) -> str:
    """The shared single node, or what the module's ``ON_BOTH`` asks."""
    return _url(request, getattr(request, "param", "node"))


async def subscribers(redis: RedisClient, *channels: str) -> dict[bytes, int]:
    """PUBSUB NUMSUB of every node: a Cluster node counts only its own subscribers."""
    if isinstance(redis, RedisCluster):
        return dict(await redis.pubsub_numsub(*channels, target_nodes=RedisCluster.ALL_NODES))
    return dict(await redis.pubsub_numsub(*channels))


async def client_for(url: str) -> RedisClient:
    return await open_redis(url, timeout=TIMEOUT, connections=CONNECTIONS)


@pytest.fixture(name="redis_client")
async def redis_either_fixture(redis_url: str) -> AsyncIterator[RedisClient]:
    """A client of ``redis_url``: a test using it runs on a node and on the cluster."""
    client = await client_for(redis_url)
    yield client
    await client.aclose()
