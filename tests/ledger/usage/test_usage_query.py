"""Usage per day, state and operator on PostgreSQL and in memory alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from redis.asyncio import Redis

from ledger.events import MessageState
from ledger.redis_ledger import RedisLedger
from ledger.usage import MAX_DAYS, ListedUsageQuery, PgUsageQuery, UsageQuery, usage_window
from tests.ledger.test_message_query import (
    T0,
    History,
    MemoryHistory,
    PostgresHistory,
    accepted,
    moved,
)

DAY = 86_400_000
FIRST = date(2026, 1, 1)  # T0's day


class Backend:
    def __init__(self, history: History, usage: UsageQuery) -> None:
        self.history = history
        self.usage = usage


@pytest.fixture(params=["memory", "postgres"])
async def backend(
    request: pytest.FixtureRequest,
    redis_ledger: RedisLedger,
    redis_client: Redis,
    namespace: str,
    database_url: str,
) -> AsyncIterator[Backend]:
    if request.param == "memory":
        memory = MemoryHistory()
        yield Backend(memory, ListedUsageQuery(memory.query))
        return
    history = PostgresHistory(redis_ledger, redis_client, database_url, namespace)
    usage = PgUsageQuery(database_url)
    yield Backend(history, usage)
    await usage.aclose()
    await history.aclose()


async def traffic(history: History) -> None:
    """Day 1: three through op-a (two delivered, one undeliverable), one never
    taken; day 3: one delivered through op-b; another account's message."""
    await history.write(
        [
            accepted("a1", T0 + 1_000),
            accepted("a2", T0 + 2_000),
            accepted("a3", T0 + 3_000),
            accepted("a4", T0 + 4_000),
            accepted("b1", T0 + 2 * DAY + 5_000),
            accepted("x1", T0 + 6_000, account="other"),
        ]
    )
    await history.write(
        [
            moved("a1", MessageState.DELIVERED, T0 + 10_000, connector="op-a"),
            moved("a2", MessageState.DELIVERED, T0 + 11_000, connector="op-a"),
            moved("a3", MessageState.UNDELIVERABLE, T0 + 12_000, connector="op-a"),
            moved("b1", MessageState.DELIVERED, T0 + 2 * DAY + 9_000, connector="op-b"),
        ]
    )


async def test_usage_per_day_state_and_operator(backend: Backend) -> None:
    await traffic(backend.history)
    usage = await backend.usage.usage("acme", FIRST, date(2026, 1, 3))
    assert [(r.key, r.messages, r.delivered) for r in usage.by_day] == [
        ("2026-01-01", 4, 2),
        ("2026-01-02", 0, 0),
        ("2026-01-03", 1, 1),
    ]
    assert {r.key: r.messages for r in usage.by_state} == {
        "accepted": 1,
        "delivered": 3,
        "undeliverable": 1,
    }
    assert [(r.key, r.messages, r.delivered) for r in usage.by_operator] == [
        ("", 1, 0),
        ("op-a", 3, 2),
        ("op-b", 1, 1),
    ]
    assert (usage.total.messages, usage.total.parts) == (5, 5)
    assert usage.by_day[0].by_state == {"accepted": 1, "delivered": 2, "undeliverable": 1}


async def test_the_window_bounds_whole_days(backend: Backend) -> None:
    await traffic(backend.history)
    usage = await backend.usage.usage("acme", date(2026, 1, 2), date(2026, 1, 2))
    assert usage.total.messages == 0 and [r.key for r in usage.by_day] == ["2026-01-02"]
    later = await backend.usage.usage("acme", date(2026, 1, 3), date(2026, 1, 9))
    assert later.total.messages == 1 and len(later.by_day) == 7


async def test_another_account_sees_only_its_own(backend: Backend) -> None:
    await traffic(backend.history)
    usage = await backend.usage.usage("other", FIRST, FIRST)
    assert usage.total.messages == 1 and usage.by_operator[0].key == ""


def test_a_bad_window_is_an_error() -> None:
    with pytest.raises(ValueError, match="after"):
        usage_window(date(2026, 1, 2), FIRST)
    with pytest.raises(ValueError, match=str(MAX_DAYS)):
        usage_window(FIRST, date(2026, 6, 1))
    assert usage_window(FIRST, FIRST) == (T0, T0 + DAY)
