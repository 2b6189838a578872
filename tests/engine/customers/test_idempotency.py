"""The Idempotency-Key stores, one contract on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from engine.customers.idempotency import (
    Claim,
    Clash,
    IdempotencyStore,
    MemoryIdempotencyStore,
    RedisIdempotencyStore,
    StoredAnswer,
    fingerprint,
)

ANSWER = StoredAnswer(status=202, body=b'{"ok":1}', media_type="application/json")
BODY = fingerprint(b'{"to":"33612345678"}')
OTHER = fingerprint(b'{"to":"33699999999"}')


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_client: Redis, namespace: str
) -> AsyncIterator[IdempotencyStore]:
    if request.param == "memory":
        yield MemoryIdempotencyStore()
    else:
        yield RedisIdempotencyStore(redis_client, namespace)


async def claimed(store: IdempotencyStore, key: str = "k1", body: str = BODY) -> Claim:
    claim = await store.claim("bank", key, body, hold=60)
    assert isinstance(claim, Claim)
    return claim


def test_the_fingerprint_is_the_bodys_sha256() -> None:
    assert fingerprint(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


async def test_a_finished_answer_is_replayed_for_the_same_body(store: IdempotencyStore) -> None:
    claim = await claimed(store)
    await store.finish("bank", "k1", claim, ANSWER, keep=60)
    assert await store.claim("bank", "k1", BODY, hold=60) == ANSWER
    assert await store.claim("bank", "k1", OTHER, hold=60) is Clash.CONFLICT


async def test_a_running_request_holds_its_key(store: IdempotencyStore) -> None:
    await claimed(store)
    assert await store.claim("bank", "k1", BODY, hold=60) is Clash.IN_PROGRESS
    assert await store.claim("bank", "k1", OTHER, hold=60) is Clash.CONFLICT


async def test_keys_are_per_account(store: IdempotencyStore) -> None:
    await claimed(store)
    assert isinstance(await store.claim("shop", "k1", BODY, hold=60), Claim)
    assert isinstance(await store.claim("bank", "k2", BODY, hold=60), Claim)


async def test_an_abandoned_key_can_be_claimed_again(store: IdempotencyStore) -> None:
    claim = await claimed(store)
    await store.abandon("bank", "k1", claim)
    again = await claimed(store, body=OTHER)
    assert again != claim


async def test_only_the_current_claim_may_finish(store: IdempotencyStore) -> None:
    """A claim that lapsed and was taken over must not overwrite the new one."""
    first = await claimed(store)
    await store.abandon("bank", "k1", first)
    second = await claimed(store)
    await store.finish("bank", "k1", first, ANSWER, keep=60)
    await store.abandon("bank", "k1", first)
    assert await store.claim("bank", "k1", BODY, hold=60) is Clash.IN_PROGRESS
    await store.finish("bank", "k1", second, ANSWER, keep=60)
    assert await store.claim("bank", "k1", BODY, hold=60) == ANSWER


async def test_any_printable_key_is_one_record(store: IdempotencyStore) -> None:
    key = "order:42 / retry #1 " + "x" * 230
    claim = await claimed(store, key=key)
    await store.finish("bank", key, claim, ANSWER, keep=60)
    assert await store.claim("bank", key, BODY, hold=60) == ANSWER


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_records_expire_after_their_time() -> None:
    clock = Clock()
    store = MemoryIdempotencyStore(clock)
    claim = await store.claim("bank", "done", BODY, hold=10)
    assert isinstance(claim, Claim)
    await store.finish("bank", "done", claim, ANSWER, keep=100)
    await store.claim("bank", "stuck", BODY, hold=10)
    clock.now += 11  # the stuck request's hold lapsed: the key is free
    assert isinstance(await store.claim("bank", "stuck", BODY, hold=10), Claim)
    assert await store.claim("bank", "done", BODY, hold=10) == ANSWER
    clock.now += 100
    assert isinstance(await store.claim("bank", "done", BODY, hold=10), Claim)
    assert len(store) == 1  # the lapsed records were dropped


async def test_redis_records_carry_their_ttl(redis_client: Redis, namespace: str) -> None:
    store = RedisIdempotencyStore(redis_client, namespace)
    claim = await store.claim("bank", "k1", BODY, hold=5)
    assert isinstance(claim, Claim)
    [key] = [k async for k in redis_client.scan_iter(match=f"{namespace}:idem:bank:*")]
    assert 0 < await redis_client.pttl(key) <= 5_000
    await store.finish("bank", "k1", claim, ANSWER, keep=600)
    assert 5_000 < await redis_client.pttl(key) <= 600_000
