"""One Redis URL for a node or a Cluster: the server says which, or the URL does."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis, RedisCluster

from ledger.redis_client import open_redis, split_mode
from tests.services import REDIS_URL


def test_the_cluster_parameter_is_smsgws_and_removed() -> None:
    assert split_mode("redis://h:1/0") == ("redis://h:1/0", None)
    assert split_mode("redis://h:1/0?cluster=yes") == ("redis://h:1/0", True)
    assert split_mode("redis://h:1/0?cluster=No&ssl_cert_reqs=none") == (
        "redis://h:1/0?ssl_cert_reqs=none",
        False,
    )
    with pytest.raises(ValueError, match="cluster='maybe'"):
        split_mode("redis://h:1/0?cluster=maybe")


@pytest.mark.parametrize("query", ["", "?cluster={said}"])
async def test_the_server_or_the_url_says_whether_it_is_a_cluster(
    redis_url: str, namespace: str, query: str
) -> None:
    cluster = redis_url != REDIS_URL  # the other `redis_url` is the local cluster
    url = redis_url + query.format(said="yes" if cluster else "no")
    client = await open_redis(url, timeout=5.0, connections=2)
    try:
        assert isinstance(client, RedisCluster if cluster else Redis)
        key = f"{namespace}:probe"
        await client.set(key, b"1")
        assert await client.get(key) == b"1"
    finally:
        await client.aclose()
