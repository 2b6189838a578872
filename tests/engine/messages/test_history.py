"""MessageHistory: one ledger call per loop iteration, the details, and the tap of `smsgw dev`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from engine.messages.history import MessageHistory
from ledger.events import MessageEvent, MessageState
from ledger.memory import MemoryLedger
from ledger.memory_messages import MemoryMessageStore


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


def written(ledger: MemoryLedger) -> list[MessageEvent]:
    return [event for event in ledger.events if isinstance(event, MessageEvent)]


async def test_the_accepted_event_carries_what_describes_the_message() -> None:
    ledger = MemoryLedger()
    store = MemoryMessageStore()
    history = MessageHistory(ledger, tap=store.apply)
    history.record(
        "m1", "acme", MessageState.ACCEPTED, parts=2, destination="+41790000001", source="ACME",
        reference="order-7", price_per_part=35_000,
    )  # fmt: skip
    history.record("m1", "acme", MessageState.SUBMITTED, connector="op-a", operator_message_id="X1")
    await history.drain()
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


async def test_without_a_tap_nothing_changes() -> None:
    ledger = MemoryLedger()
    history = MessageHistory(ledger)
    for n in range(3):
        history.record(f"m{n}", "acme", MessageState.ACCEPTED, parts=1)
    await history.drain()
    assert [event.message_id for event in written(ledger)] == ["m0", "m1", "m2"]


async def test_the_tap_sees_each_event_once_though_a_batch_is_written_again() -> None:
    ledger = GatedLedger(fails=True)
    seen: list[list[str]] = []
    history = MessageHistory(ledger, tap=lambda events: seen.append([e.message_id for e in events]))
    history.record("m1", "acme", MessageState.ACCEPTED)
    await ledger.writing.wait()
    # The outage ends and m2 arrives in the same step: the failing write puts
    # m1 back ahead of m2, and the retry writes both at once.
    ledger.gate.set()  # the outage is over
    history.record("m2", "acme", MessageState.ACCEPTED)
    await history.drain()
    assert ledger.calls == [["m1"], ["m1", "m2"]]
    assert seen == [["m1"], ["m2"]]
    assert [event.message_id for event in written(ledger)] == ["m1", "m2"]


async def test_a_batch_waits_for_the_one_before_so_states_keep_their_order() -> None:
    ledger = GatedLedger(fails=False)
    history = MessageHistory(ledger)
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


async def test_a_failing_tap_does_not_lose_the_history() -> None:
    ledger = MemoryLedger()

    def broken(events: Sequence[MessageEvent]) -> None:
        raise RuntimeError("tap bug")

    history = MessageHistory(ledger, tap=broken)
    history.record("m1", "acme", MessageState.ACCEPTED)
    await history.drain()
    assert [event.message_id for event in written(ledger)] == ["m1"]
