"""One way to open Redis from ``SMSGW_REDIS_URL``: a single node or a Cluster.

The same URL serves both (DESIGN: "Redis (single node or Cluster, the same
URL)"). Which one it is, the server says: ``INFO cluster`` answers
``cluster_enabled:1`` on a cluster node. A URL may say it instead with the
query parameter ``cluster=yes`` or ``cluster=no`` (then nothing is asked
before the client is built, e.g. where a proxy hides the cluster); the
parameter is smsgw's and is removed before redis-py reads the URL. On a
cluster the URL names any one node; the client learns the others from it.

Everything above this module takes a `RedisClient`. What differs on a
cluster is handled where it matters: Lua calls and multi-key commands stay in
one slot (hash tags), pipelines are never transactional, SCAN runs per node,
pub/sub listens on one node at a time (`engine.admin.publishing`).
"""

from __future__ import annotations

from typing import TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

RedisClient: TypeAlias = Redis | RedisCluster
"""A client of one Redis node or of a Redis Cluster: the commands smsgw uses
are the same on both."""

POOL_WAIT = 10.0
"""Seconds a caller waits for a free connection of a single node's pool."""
CLUSTER_MIN_CONNECTIONS = 16
"""Per node, at least: a Cluster client raises, rather than waits, when every
connection to a node is busy, so a small client (the persister's two) gets
room for its bursts."""
_MODE = "cluster"
_YES = frozenset({"yes", "true", "1", "on"})
_NO = frozenset({"no", "false", "0", "off"})


def split_mode(url: str) -> tuple[str, bool | None]:
    """``url`` without smsgw's ``cluster`` parameter, and what it said (None: ask the server)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    said = [value.lower() for name, value in query if name == _MODE]
    if not said:
        return url, None
    if said[-1] not in _YES | _NO:
        raise ValueError(f"cluster={said[-1]!r} in the Redis URL: say yes or no")
    rest = urlencode([(name, value) for name, value in query if name != _MODE])
    return urlunsplit(parts._replace(query=rest)), said[-1] in _YES


async def is_cluster(url: str, timeout: float) -> bool:
    """Whether the node at ``url`` runs in cluster mode (one short connection)."""
    probe = Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )
    try:
        info = await probe.info("cluster")
    finally:
        await probe.aclose()
    return bool(info.get("cluster_enabled"))


async def open_redis(
    url: str,
    *,
    timeout: float,
    connections: int,
    retries: int = 1,
    decode_responses: bool = False,
) -> RedisClient:
    """The client for ``url``: a call with no answer within ``timeout`` is
    sent ``retries`` more times on a fresh connection, then fails (redis-py's
    default of ten retries would keep a customer waiting ten times as long).

    A single node's callers wait up to `POOL_WAIT` for one of ``connections``
    connections. A cluster client holds up to ``connections`` per node (at
    least `CLUSTER_MIN_CONNECTIONS`) and
    follows the slots as they move (MOVED, ASK, a replica promoted); a slot
    whose master is down fails its calls until a replica takes it over, which
    the callers answer as a temporary error."""
    bare, said = split_mode(url)
    cluster = said if said is not None else await is_cluster(bare, timeout)
    settings = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), retries),
        "decode_responses": decode_responses,
    }
    if cluster:
        most = max(connections, CLUSTER_MIN_CONNECTIONS)
        return RedisCluster.from_url(bare, max_connections=most, **settings)
    pool = BlockingConnectionPool.from_url(
        bare, max_connections=connections, timeout=POOL_WAIT, **settings
    )
    return Redis.from_pool(pool)  # closing the client closes its pool


async def node_client(client: RedisClient, turn: int) -> tuple[Redis, bool]:
    """A client of one node, for what a Cluster client cannot do across
    nodes (a long pub/sub subscription): ``client`` itself on a single node;
    on a Cluster a new client (second item True: the caller closes it) of
    node number ``turn`` (modulo their count), so a caller that lost one node
    goes on to the next. PUBLISH on a Cluster reaches subscribers of every node."""
    if isinstance(client, Redis):
        return client, False
    await client.initialize()
    nodes = sorted(client.get_nodes(), key=lambda node: node.name)
    node = nodes[turn % len(nodes)]
    pool = ConnectionPool(connection_class=node.connection_class, **node.connection_kwargs)
    return Redis.from_pool(pool), True


def as_text(value: bytes | str) -> str:
    """A reply as text: clients here do not decode responses (most of what
    they read is msgpack or numbers), so names and ids come back as bytes."""
    return value.decode() if isinstance(value, bytes) else value
