"""The persister inside a shard (`persister_in_process`)."""

from __future__ import annotations

from redis.asyncio import Redis

from engine.config import GatewayConfig
from ledger.config import LedgerConfig, PersisterConfig
from smsgw.production import _InProcessPersister
from tests.services import (  # noqa: F401  (fixtures)
    REDIS_URL,
    database_url_fixture,
    namespace_fixture,
    postgres_database_fixture,
    redis_client_fixture,
)


async def test_its_rounds_stay_small_on_the_shards_event_loop(
    namespace: str, database_url: str
) -> None:
    """Its rounds run on the loop that answers customers: a round made bigger by
    lingering or by a large batch would hold an OTP up longer, so it reads
    again at once, and fewer entries at a time than `smsgw ledger persist`."""
    config = GatewayConfig(
        ledger=LedgerConfig(namespace=namespace),
        persister=PersisterConfig(linger_ms=250, batch_size=200, in_process_batch_size=7),
    )
    inside = _InProcessPersister(Redis.from_url(REDIS_URL), database_url, config)
    try:
        assert inside.persister.config.linger_ms == 0
        assert inside.persister.config.batch_size == 7
    finally:
        await inside.close()
