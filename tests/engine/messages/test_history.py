"""MessageHistory: its events ride the delivery rounds, one round at a time,
in the order recorded, a failed round's again ahead of newer ones."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from engine.customers.delivery import CustomerDelivery
from engine.customers.pending import MemoryPending
from engine.messages.history import MessageHistory
from ledger.events import MessageEvent, MessageState
from ledger.memory import MemoryLedger
from ledger.memory_messages import MemoryMessageStore
from tests.engine.customers.delivery_harness import delivery_for


class GatedLedger(MemoryLedger):
    """Its first `append_message_events` waits for `gate`, then writes, or fails if `fails`."""

    def __init__(self, *, fails: bool) -> None:
        super().__init__()
        self.fails = fails
        self.calls: list[list[str]] = []
        self.writing = asyncio.Event()
        self.gate = asyncio.Event()

    async def append_message_events(self, events: Sequence[MessageEvent]) -> None:
        self.calls.append([event.message_id for event in events])
        if len(self.calls) == 1:
            self.writing.set()
            await self.gate.wait()
            if self.fails:
                raise ConnectionError("ledger down")
        await super().append_message_events(events)


def history_on(ledger: MemoryLedger) -> tuple[MessageHistory, CustomerDelivery]:
    delivery = delivery_for(MemoryPending(ledger))
    return MessageHistory(delivery), delivery


def written(ledger: MemoryLedger) -> list[MessageEvent]:
    return [event for event in ledger.events if isinstance(event, MessageEvent)]


async def test_the_accepted_event_carries_what_describes_the_message() -> None:
    store = MemoryMessageStore()
    ledger = MemoryLedger(tap=store.apply)
    history, _ = history_on(ledger)
    history.record_described(
        "m1", "acme", MessageState.ACCEPTED, parts=2, destination="+41790000001", source="ACME",
        reference="order-7", price_per_part=35_000,
    )  # fmt: skip
    history.record("m1", "acme", MessageState.SUBMITTED, connector="op-a", operator_message_id="X1")
    await history.written()
    [accepted, submitted] = written(ledger)
    assert (accepted.destination, accepted.source, accepted.reference) == (
        "+41790000001",
        "ACME",
        "order-7",
    )
    assert accepted.price_per_part == 35_000 and submitted.destination == ""
    record = await store.get("acme", "m1")
    assert record is not None
    assert (record.state, record.destination, record.price_per_part, record.connector) == (
        MessageState.SUBMITTED,
        "+41790000001",
        35_000,
        "op-a",
    )


async def test_events_of_one_iteration_go_in_one_round_with_its_deliveries() -> None:
    ledger = GatedLedger(fails=False)
    ledger.gate.set()
    history, _ = history_on(ledger)
    for n in range(3):
        history.record(f"m{n}", "acme", MessageState.ACCEPTED, parts=1)
    await history.written()
    assert ledger.calls == [["m0", "m1", "m2"]]


async def test_a_failed_round_is_told_and_its_events_go_again_ahead_of_newer_ones() -> None:
    ledger = GatedLedger(fails=True)
    history, delivery = history_on(ledger)
    history.record("m1", "acme", MessageState.SUBMITTED)
    waiting = asyncio.ensure_future(history.written())
    await ledger.writing.wait()
    # The outage ends and a newer state arrives in the same step: the failing
    # round puts m1 back ahead of it, and the retry writes both at once.
    history.record("m1", "acme", MessageState.DELIVERED)
    ledger.gate.set()
    with pytest.raises(ConnectionError):
        await waiting  # a receipt waiting on it is asked for again
    await history.drain()
    assert ledger.calls == [["m1"], ["m1", "m1"]]
    assert [e.state for e in written(ledger)] == [MessageState.SUBMITTED, MessageState.DELIVERED]
    await delivery.drain()


async def test_a_round_waits_for_the_one_before_so_states_keep_their_order() -> None:
    ledger = GatedLedger(fails=False)
    history, _ = history_on(ledger)
    history.record("m1", "acme", MessageState.SUBMITTED)
    await ledger.writing.wait()
    history.record("m1", "acme", MessageState.DELIVERED)
    history.record("m2", "acme", MessageState.ACCEPTED)
    for _ in range(5):
        await asyncio.sleep(0)
    assert ledger.calls == [["m1"]]
    ledger.gate.set()
    await history.drain()
    assert ledger.calls == [["m1"], ["m1", "m2"]]
    assert [(e.message_id, e.state) for e in written(ledger)] == [
        ("m1", MessageState.SUBMITTED),
        ("m1", MessageState.DELIVERED),
        ("m2", MessageState.ACCEPTED),
    ]
