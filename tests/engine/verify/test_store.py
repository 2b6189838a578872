"""The verification stores (memory, a Redis node, a Redis Cluster): one rule of a
check on each (`decide`, which `lua/check_code.lua` mirrors), applied atomically."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.verify.model import Status, Verdict, Verification, decide
from engine.verify.store import (
    MemoryVerificationStore,
    RedisVerificationStore,
    VerificationStore,
)
from ledger.redis_client import RedisClient
from tests.cluster import ON_EACH_BACKEND

pytestmark = ON_EACH_BACKEND

NOW = 1_800_000_000_000
"""Unix ms of the tests' "now"."""
LIFE = 300_000
KEEP = 3_600_000


def verification(verification_id: str = "a" * 32, **fields: object) -> Verification:
    base: dict[str, object] = {
        "id": verification_id,
        "account": "bank",
        "to": "33612345678",
        "channel": "sms",
        "code_length": 6,
        "salt": b"\x00\xff salt \x80",
        "digest": bytes(range(32)),
        "created_ms": NOW,
        "expires_ms": NOW + LIFE,
        "max_attempts": 5,
        "message_id": "m-1",
    }
    return Verification(**{**base, **fields})  # type: ignore[arg-type]


@pytest.fixture
async def store(
    backend: str, redis_client: RedisClient, namespace: str
) -> AsyncIterator[VerificationStore]:
    if backend == "memory":
        yield MemoryVerificationStore()
    else:
        yield RedisVerificationStore(redis_client, namespace)


async def stored(store: VerificationStore, **fields: object) -> Verification:
    record = verification(**fields)
    await store.put(record, LIFE + KEEP)
    return record


async def test_a_verification_reads_back_as_stored(store: VerificationStore) -> None:
    record = await stored(store)
    assert await store.get(record.id, NOW) == record
    assert await store.get("b" * 32, NOW) is None


async def test_the_right_code_approves_once(store: VerificationStore) -> None:
    record = await stored(store)
    assert await store.check(record, False, NOW) == (
        Verdict.PENDING,
        verification(attempts=1),
    )
    approved = verification(attempts=1, state=Status.APPROVED)
    assert await store.check(record, True, NOW + 1) == (Verdict.APPROVED, approved)
    again = await store.check(record, True, NOW + 2)
    assert again is not None and again[0] is Verdict.ALREADY_USED
    assert await store.get(record.id, NOW) == approved


async def test_the_last_wrong_code_ends_it(store: VerificationStore) -> None:
    record = await stored(store, max_attempts=3)
    verdicts = [(await store.check(record, False, NOW) or (None,))[0] for _ in range(3)]
    assert verdicts == [Verdict.PENDING, Verdict.PENDING, Verdict.MAX_ATTEMPTS_REACHED]
    late = await store.check(record, True, NOW)
    assert late is not None and late[0] is Verdict.MAX_ATTEMPTS_REACHED
    assert late[1].snapshot(NOW).attempts_left == 0


async def test_an_expired_code_approves_nothing_and_costs_nothing(
    store: VerificationStore,
) -> None:
    record = await stored(store)
    checked = await store.check(record, True, NOW + LIFE)
    assert checked is not None and checked[0] is Verdict.EXPIRED
    assert checked[1] == record
    found = await store.get(record.id, NOW + LIFE)
    assert found is not None and found.status(NOW + LIFE) is Status.EXPIRED


async def test_parallel_guesses_cannot_outrun_the_attempts(store: VerificationStore) -> None:
    """Twenty wrong guesses at once (as from many shards): five count, the
    rest are told it is over; a right code among the late ones approves nothing."""
    record = await stored(store)
    checks = [store.check(record, False, NOW) for _ in range(20)]
    verdicts = [answer[0] for answer in await asyncio.gather(*checks) if answer is not None]
    assert verdicts.count(Verdict.PENDING) == 4
    assert verdicts.count(Verdict.MAX_ATTEMPTS_REACHED) == 16
    right = await store.check(record, True, NOW)
    assert right is not None and right[0] is Verdict.MAX_ATTEMPTS_REACHED


async def test_parallel_right_codes_approve_once(store: VerificationStore) -> None:
    record = await stored(store)
    answers = await asyncio.gather(*(store.check(record, True, NOW) for _ in range(10)))
    verdicts = [answer[0] for answer in answers if answer is not None]
    assert verdicts.count(Verdict.APPROVED) == 1
    assert verdicts.count(Verdict.ALREADY_USED) == 9


async def test_a_check_of_a_gone_verification_finds_nothing(store: VerificationStore) -> None:
    assert await store.check(verification("c" * 32), True, NOW) is None


checks = st.lists(st.tuples(st.booleans(), st.integers(0, 100_000)), max_size=12)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=checks, attempts=st.integers(1, 6))
async def test_every_store_follows_the_one_rule(
    store: VerificationStore, steps: list[tuple[bool, int]], attempts: int
) -> None:
    """Any run of checks, right or wrong, at any time: the store answers as
    `decide` says (for Redis: the Lua script is the Python rule)."""
    record = verification(secrets.token_hex(16), max_attempts=attempts)
    await store.put(record, LIFE + KEEP)
    expected, now = record, NOW
    for matched, later in steps:
        now += later
        verdict, expected = decide(expected, matched, now)
        assert await store.check(record, matched, now) == (verdict, expected)
