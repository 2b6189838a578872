"""Verify statistics: counted by the day a verification was created, the same
in memory and on Redis (node and cluster); the service counts each outcome once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from engine.customers.api_keys import MemoryApiKeyStore
from engine.facade import Engine
from engine.verify import (
    KEEP_DAYS,
    CodeHasher,
    MemorySendLimiter,
    MemoryVerificationStore,
    MemoryVerifyCounts,
    NewVerification,
    RedisVerifyCounts,
    SendLimits,
    Snapshot,
    VerifyDay,
    VerifySettings,
)
from engine.verify.service import VerifyService
from engine.verify.stats import VerifyCounts
from ledger.redis_client import RedisClient
from tests.clock import FakeClock
from tests.cluster import redis_either_fixture, redis_url_fixture  # noqa: F401
from tests.engine.gateway_harness import running_gateway
from tests.engine.peers import recording_operator
from tests.engine.verify.harness import SECRET, code_in, texts
from tests.services import namespace_fixture  # noqa: F401

DAY = 86_400_000
NOW = int(datetime(2026, 12, 6, 12, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(params=["memory", "redis"])
async def counts(
    request: pytest.FixtureRequest, redis_client: RedisClient, namespace: str
) -> AsyncIterator[VerifyCounts]:
    if request.param == "memory":
        yield MemoryVerifyCounts()
    else:
        store = RedisVerifyCounts(redis_client, namespace)
        yield store
        await redis_client.delete(store.key("bank"), store.key("shop"))


async def test_counts_by_creation_day_newest_first(counts: VerifyCounts) -> None:
    for outcome in ("created", "created", "created", "approved", "failed"):
        await counts.count("bank", NOW, outcome)  # type: ignore[arg-type]
    await counts.count("bank", NOW - 2 * DAY, "created")
    await counts.count("bank", NOW - 2 * DAY, "approved")
    await counts.count("shop", NOW, "created")
    days = await counts.days("bank", NOW, 3)
    assert days == [
        VerifyDay(day="2026-12-06", created=3, approved=1, failed=1),
        VerifyDay(day="2026-12-05"),
        VerifyDay(day="2026-12-04", created=1, approved=1),
    ]
    assert (days[0].expired, days[0].conversion) == (1, pytest.approx(1 / 3))
    assert days[1].conversion is None
    summed = VerifyDay.summed(days)
    assert (summed.day, summed.created, summed.approved, summed.failed) == (
        "2026-12-04..2026-12-06",
        4,
        2,
        1,
    )
    assert (await counts.days("shop", NOW, 1))[0].created == 1


async def test_only_up_to_keep_days_may_be_asked(counts: VerifyCounts) -> None:
    assert len(await counts.days("bank", NOW, KEEP_DAYS)) == KEEP_DAYS
    for wrong in (0, KEEP_DAYS + 1):
        with pytest.raises(ValueError, match="days must be"):
            await counts.days("bank", NOW, wrong)


async def test_redis_drops_a_day_past_keep_days(redis_client: RedisClient, namespace: str) -> None:
    store = RedisVerifyCounts(redis_client, namespace)
    old = NOW - KEEP_DAYS * DAY
    await store.count("bank", old, "created")
    await store.count("bank", old, "approved")
    assert len(await redis_client.hgetall(store.key("bank"))) == 2  # type: ignore[misc]
    await store.count("bank", NOW, "created")
    fields = await redis_client.hgetall(store.key("bank"))  # type: ignore[misc]
    assert {name.decode() if isinstance(name, bytes) else name for name in fields} == {
        "20261206:created"
    }
    assert 0 < await redis_client.ttl(store.key("bank")) <= (KEEP_DAYS + 1) * 86_400
    await redis_client.delete(store.key("bank"))


async def test_the_service_counts_sent_approved_and_failed_once() -> None:
    operator = recording_operator()
    async with running_gateway("memory", [operator]) as gateway:
        engine = Engine(gateway, MemoryApiKeyStore())
        settings = VerifySettings(max_attempts=2, resend_interval=0)
        clock = FakeClock(time.time())
        service = VerifyService(
            engine,
            MemoryVerificationStore(),
            MemorySendLimiter(SendLimits.of(settings)),
            settings,
            CodeHasher(SECRET),
            clock=clock,
            counts=MemoryVerifyCounts(),
        )
        bank = engine.account("bank")
        assert bank is not None
        numbers = ["33612345671", "33612345672", "33612345673"]
        started = []
        for number in numbers:
            snapshot = await service.start(bank, NewVerification(to=number))
            assert isinstance(snapshot, Snapshot), snapshot
            started.append(snapshot)
        await operator.wait_until(lambda: len(operator.submitted) == 3)
        code = code_in(texts(operator.submitted, numbers[0])[0])
        for _ in range(2):
            await service.check("bank", started[0].id, code)
        right = code_in(texts(operator.submitted, numbers[1])[0])
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        for _ in range(3):  # the third answers max_attempts_reached again
            await service.check("bank", started[1].id, wrong)
        (today,) = await service.stats("bank", 1)
        assert (today.created, today.approved, today.failed, today.expired) == (3, 1, 1, 1)
        assert await service.stats("shop", 1) == [VerifyDay(day=today.day)]
