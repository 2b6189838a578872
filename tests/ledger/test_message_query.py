"""The `MessageQuery` contract on both backends: PostgreSQL through the real persister
path (events -> RedisLedger -> Persister -> PgMessageQuery) and the in-memory store."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from ledger.events import EventKind, LedgerEvent, MessageEvent, MessageState
from ledger.memory_messages import MemoryMessageStore
from ledger.message_query import (
    MAX_PAGE,
    MessageFilter,
    MessageQuery,
    MessageRecord,
    PgMessageQuery,
    StateChange,
    encode_cursor,
)
from ledger.model import AcceptRequest, AccountLimits
from ledger.redis_ledger import RedisLedger
from tests.ledger.helpers import persister, redis_events

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in unix ms


class History(Protocol):
    """A backend under test: events go in by its production path, `query` reads them."""

    query: MessageQuery

    async def write(self, events: Sequence[MessageEvent]) -> None: ...


class MemoryHistory:
    def __init__(self) -> None:
        self.query = self.store = MemoryMessageStore()

    async def write(self, events: Sequence[MessageEvent]) -> None:
        self.store.apply(events)


class PostgresHistory:
    def __init__(self, ledger: RedisLedger, redis: Redis, database_url: str, namespace: str):
        self.ledger = ledger
        self.worker, self.store = persister(redis, database_url, namespace)
        self.query = self.reader = PgMessageQuery(database_url)

    async def write(self, events: Sequence[MessageEvent]) -> None:
        await self.ledger.append_message_events(events)
        await self.worker.drain()

    async def aclose(self) -> None:
        await self.store.close()
        await self.reader.aclose()


@pytest.fixture(params=["memory", "postgres"])
async def history(
    request: pytest.FixtureRequest,
    redis_ledger: RedisLedger,
    redis_client: Redis,
    namespace: str,
    database_url: str,
) -> AsyncIterator[History]:
    if request.param == "memory":
        yield MemoryHistory()
        return
    backend = PostgresHistory(redis_ledger, redis_client, database_url, namespace)
    yield backend
    await backend.aclose()


def accepted(
    message_id: str,
    at: int,
    *,
    account: str = "acme",
    destination: str = "+41790000001",
    reference: str = "",
) -> MessageEvent:
    return MessageEvent(
        message_id=message_id,
        account=account,
        state=MessageState.ACCEPTED,
        ts_ms=at,
        parts=1,
        destination=destination,
        source="ACME",
        reference=reference,
        price_per_part=35_000,
    )


def moved(message_id: str, state: MessageState, at: int, **fields: object) -> MessageEvent:
    return MessageEvent(message_id=message_id, account="acme", state=state, ts_ms=at, **fields)  # type: ignore[arg-type]


async def listed(
    query: MessageQuery, flt: MessageFilter | None = None, limit: int = 2
) -> list[str]:
    """Every message id of the account's list, page by page, checking each page's size."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await query.list("acme", flt, cursor, limit)
        assert len(page.items) <= limit
        ids += [item.message_id for item in page.items]
        if page.next_cursor is None:
            return ids
        assert len(page.items) == limit
        cursor = page.next_cursor


async def test_get_gives_the_message_with_its_history(history: History) -> None:
    await history.write(
        [accepted("m1", T0, reference="order-7"), moved("m1", MessageState.SUBMITTED, T0 + 5,
         connector="op-a", operator_message_id="X1", parts=2)]
    )  # fmt: skip
    await history.write([moved("m1", MessageState.DELIVERED, T0 + 900, error_code=0)])
    record = await history.query.get("acme", "m1")
    assert record == MessageRecord(
        message_id="m1",
        account="acme",
        state=MessageState.DELIVERED,
        parts=2,
        price_per_part=35_000,
        held=None,
        charged=None,
        connector="op-a",
        operator_message_id="X1",
        error_code=0,
        destination="+41790000001",
        source="ACME",
        reference="order-7",
        accepted_at=T0,
        updated_at=T0 + 900,
        events=[
            StateChange(state=MessageState.ACCEPTED, at=T0),
            StateChange(
                state=MessageState.SUBMITTED, at=T0 + 5, connector="op-a", operator_message_id="X1"
            ),
            StateChange(state=MessageState.DELIVERED, at=T0 + 900, error_code=0),
        ],
    )


async def test_another_accounts_message_is_invisible(history: History) -> None:
    await history.write([accepted("m1", T0, account="other"), accepted("m2", T0)])
    assert await history.query.get("acme", "m1") is None
    assert (await history.query.get("other", "m1")) is not None
    assert await listed(history.query) == ["m2"]
    assert await history.query.get("acme", "nope") is None
    assert await history.query.get("acme", "not an id!") is None


async def test_lists_page_newest_first_without_repeats(history: History) -> None:
    # Three share a millisecond: the message id orders them.
    times = [T0, T0 + 1, T0 + 1, T0 + 1, T0 + 2, T0 + 3, T0 + 4]
    await history.write([accepted(f"m{n}", at) for n, at in enumerate(times)])
    everything = ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]
    for limit in (1, 2, 3, 7, MAX_PAGE):
        assert await listed(history.query, limit=limit) == everything


async def test_a_cursor_resumes_after_its_item_whatever_arrives_meanwhile(
    history: History,
) -> None:
    await history.write([accepted(f"m{n}", T0 + n) for n in range(4)])
    first = await history.query.list("acme", limit=2)
    assert [item.message_id for item in first.items] == ["m3", "m2"]
    await history.write([accepted("m9", T0 + 10)])
    rest = await history.query.list("acme", cursor=first.next_cursor, limit=2)
    assert [item.message_id for item in rest.items] == ["m1", "m0"]
    assert rest.next_cursor is None


async def test_filters(history: History) -> None:
    await history.write(
        [
            accepted("m0", T0, destination="+41790000001", reference="batch-1"),
            accepted("m1", T0 + 10, destination="+41790000002", reference="batch-1"),
            accepted("m2", T0 + 20, destination="+41790000001"),
            accepted("m3", T0 + 30, destination="+41790000001", reference="batch-2"),
            moved("m4", MessageState.SUBMITTED, T0 + 40),  # never accepted: in no list
        ]
    )
    await history.write([moved("m1", MessageState.DELIVERED, T0 + 50)])
    query = history.query
    assert await listed(query, MessageFilter(state=MessageState.DELIVERED)) == ["m1"]
    assert await listed(query, MessageFilter(state=MessageState.ACCEPTED)) == ["m3", "m2", "m0"]
    assert await listed(query, MessageFilter(since=T0 + 10, until=T0 + 30)) == ["m2", "m1"]
    assert await listed(query, MessageFilter(since=T0 + 31)) == []
    assert await listed(query, MessageFilter(destination="+41790000001")) == ["m3", "m2", "m0"]
    assert await listed(query, MessageFilter(reference="batch-1"), limit=1) == ["m1", "m0"]
    both = MessageFilter(destination="+41790000001", reference="batch-1")
    assert await listed(query, both) == ["m0"]
    assert await query.get("acme", "m4") is not None


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!!",
        "bm90IGJhc2U2NA",  # "not base64": no "ms:" head
        base64.urlsafe_b64encode(b"12:").decode(),
        base64.urlsafe_b64encode(b"-1:m1").decode(),
        base64.urlsafe_b64encode(b"12:bad id").decode(),
        base64.urlsafe_b64encode("12:m\u00e9".encode()).decode(),
        encode_cursor(T0, "m1") + "A" * 200,
    ],
)
async def test_a_malformed_cursor_is_an_error(history: History, cursor: str) -> None:
    with pytest.raises(ValueError, match="malformed cursor"):
        await history.query.list("acme", cursor=cursor)


@pytest.mark.parametrize("limit", [0, MAX_PAGE + 1, 2.0])
async def test_a_limit_outside_the_page_size_is_an_error(history: History, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await history.query.list("acme", limit=limit)


@pytest.mark.parametrize(
    "fields",
    [
        {"state": "lost"},
        {"since": -1},
        {"until": 1.5},
        {"since": 5, "until": 4},
        {"destination": ""},
        {"reference": "x" * 65},
        {"reference": "tab\there"},
    ],
)
def test_a_bad_filter_is_an_error(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MessageFilter(**fields)  # type: ignore[arg-type]


async def test_postgres_takes_held_and_charged_from_the_ledger(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    await redis_ledger.set_account("acme", AccountLimits())
    await redis_ledger.adjust("acme", 100, reason="top-up", reference="tx-1")
    await redis_ledger.accept(AcceptRequest(message_id="m1", account="acme", parts=2, price=10))
    await redis_ledger.capture("m1", "acme", 15)
    [hold] = [
        e
        for e in await redis_events(redis_client, redis_ledger)
        if isinstance(e, LedgerEvent) and e.kind is EventKind.HOLD
    ]
    backend = PostgresHistory(redis_ledger, redis_client, database_url, namespace)
    try:
        await backend.write([accepted("m1", hold.ts_ms + 3)])
        record = await backend.query.get("acme", "m1")
    finally:
        await backend.aclose()
    assert record is not None
    assert (record.held, record.charged, record.price_per_part) == (20, 15, 35_000)
    assert record.accepted_at == hold.ts_ms  # the commit point, not the event after it


def test_the_memory_store_takes_held_and_charged_from_ledger_events() -> None:
    def money(kind: EventKind, amount: int, ts_ms: int) -> LedgerEvent:
        return LedgerEvent(
            kind=kind, account="acme", amount=amount, balance=0, held=0, ts_ms=ts_ms,
            message_id="m1", parts=2,
        )  # fmt: skip

    store = MemoryMessageStore()
    store.apply([money(EventKind.HOLD, 20, T0), accepted("m1", T0 + 3)])
    store.apply([money(EventKind.CAPTURE, 15, T0 + 9), money(EventKind.RELEASE, 5, T0 + 9)])
    [record] = store._messages.values()
    assert (record.held, record.charged, record.accepted_at, record.parts) == (20, 15, T0, 2)


async def test_the_memory_store_forgets_the_oldest_past_its_capacity() -> None:
    store = MemoryMessageStore(capacity=3)
    store.apply([accepted(f"m{n}", T0 + n) for n in range(5)])
    assert len(store) == 3
    assert await listed(store, limit=1) == ["m4", "m3", "m2"]
    assert await store.get("acme", "m1") is None
    store.apply([moved("m0", MessageState.DELIVERED, T0 + 9)])  # a late receipt
    assert await listed(store, limit=1) == ["m4", "m3"]
    assert (await store.get("acme", "m0")) is not None


@settings(max_examples=150, deadline=None)
@given(
    messages=st.lists(
        st.tuples(
            st.integers(0, 4),  # accepted_at, with many ties
            st.sampled_from([MessageState.ACCEPTED, MessageState.DELIVERED]),
            st.sampled_from(["+1", "+2"]),
            st.sampled_from(["", "r1"]),
            st.booleans(),  # another account's
        ),
        max_size=25,
    ),
    flt=st.builds(
        MessageFilter,
        state=st.none() | st.sampled_from([MessageState.ACCEPTED, MessageState.DELIVERED]),
        since=st.none() | st.integers(0, 2).map(lambda n: T0 + n),
        until=st.none() | st.integers(3, 5).map(lambda n: T0 + n),
        destination=st.none() | st.just("+1"),
        reference=st.none() | st.just("r1"),
    ),
    limit=st.integers(1, 6),
    capacity=st.integers(1, 30),
)
async def test_paging_yields_exactly_the_filtered_set_in_order(
    messages: list[tuple[int, MessageState, str, str, bool]],
    flt: MessageFilter,
    limit: int,
    capacity: int,
) -> None:
    store = MemoryMessageStore(capacity=capacity)
    records = []
    for n, (at, state, destination, reference, foreign) in enumerate(messages):
        account = "other" if foreign else "acme"
        event = accepted(f"m{n:02d}", T0 + at, account=account, destination=destination,
                         reference=reference)  # fmt: skip
        store.apply([event])
        if state is not MessageState.ACCEPTED:
            store.apply([msgspec.structs.replace(event, state=state, destination="")])
        records.append((account, f"m{n:02d}", T0 + at, state, destination, reference or None))
    kept = records[-capacity:]
    expected = sorted(
        (
            (at, message_id)
            for account, message_id, at, state, destination, reference in kept
            if account == "acme"
            and (flt.state is None or state == flt.state)
            and (flt.since is None or at >= flt.since)
            and (flt.until is None or at < flt.until)
            and (flt.destination is None or destination == flt.destination)
            and (flt.reference is None or reference == flt.reference)
        ),
        reverse=True,
    )
    assert await listed(store, flt, limit) == [message_id for _, message_id in expected]
