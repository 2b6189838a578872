"""What `smsgw serve` says at start about the Redis it finds."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from bench.redis_cluster import LocalCluster
from smsgw.dependencies import wait_for_redis
from tests.cluster import ON_BOTH
from tests.services import REDIS_URL

pytestmark = ON_BOTH


async def _set_lazy_expire(cluster: LocalCluster, value: str) -> None:
    for port in cluster.ports:
        node = Redis(host="127.0.0.1", port=port)
        await node.config_set("lazyfree-lazy-expire", value)
        await node.aclose()


def _warned(logs: list[dict[str, object]]) -> bool:
    return any(line["event"] == "redis frees expired keys on its main thread" for line in logs)


async def test_eager_expiry_is_told_at_start_and_lazy_expiry_is_not(
    redis_url: str, request: pytest.FixtureRequest
) -> None:
    """Settled-hold slices expire as whole hashes: freed on Redis's main thread
    they stall every call, so a Redis set that way is named at start."""
    if redis_url == REDIS_URL:  # the shared server: read its setting, never change it
        node = Redis.from_url(redis_url, decode_responses=True)
        eager = (await node.config_get("lazyfree-lazy-expire"))["lazyfree-lazy-expire"] == "no"
        await node.aclose()
        with capture_logs() as logs:
            await wait_for_redis(redis_url, wait=5)
        assert _warned(logs) == eager
        return
    cluster: LocalCluster = request.getfixturevalue("cluster")
    await _set_lazy_expire(cluster, "no")
    with capture_logs() as logs:
        await wait_for_redis(redis_url, wait=5)
    assert _warned(logs)
    await _set_lazy_expire(cluster, "yes")
    with capture_logs() as logs:
        await wait_for_redis(redis_url, wait=5)
    assert not _warned(logs)
    master = Redis(host="127.0.0.1", port=cluster.masters()[-1])  # one master of three
    await master.config_set("lazyfree-lazy-expire", "no")
    with capture_logs() as logs:
        await wait_for_redis(redis_url, wait=5)
    await master.config_set("lazyfree-lazy-expire", "yes")
    await master.aclose()
    assert _warned(logs)
