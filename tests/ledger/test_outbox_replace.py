"""`replace_outbox` (replace_sm's durable step), against the in-memory twin and the real Redis."""

from __future__ import annotations

from ledger.model import OutboxRef
from ledger.protocol import Ledger
from tests.ledger.test_contract import funded, message


async def test_replace_swaps_the_payload_and_keeps_the_terms_of_the_hold(ledger: Ledger) -> None:
    await funded(ledger)
    [accepted, _] = await ledger.accept_many(
        [message("m1", parts=3, price=7, payload=b"old"), message("m2", payload=b"other")]
    )
    old = OutboxRef("acme", accepted.outbox_id or "")
    entry_id = await ledger.replace_outbox(old, b"\x00new")
    assert entry_id and entry_id != old.entry_id
    entries = {entry.message_id: entry async for entry in ledger.read_outbox()}
    assert len(entries) == 2 and entries["m2"].payload == b"other"
    replaced = entries["m1"]
    assert (replaced.entry_id, replaced.payload) == (entry_id, b"\x00new")
    assert (replaced.account, replaced.parts, replaced.price) == ("acme", 3, 7)
    state = await ledger.get_account("acme")
    assert state is not None and state.held == 21 + 10


async def test_a_gone_entry_is_not_brought_back(ledger: Ledger) -> None:
    await funded(ledger)
    accepted = await ledger.accept(message("m1", payload=b"old"))
    ref = OutboxRef("acme", accepted.outbox_id or "")
    assert await ledger.ack_outbox([ref]) == 1
    assert await ledger.replace_outbox(ref, b"new") is None
    assert [entry async for entry in ledger.read_outbox()] == []


async def test_the_old_entry_id_is_acknowledged_no_more(ledger: Ledger) -> None:
    """Once replaced, only the new id acknowledges the message: the old one is gone."""
    await funded(ledger)
    accepted = await ledger.accept(message("m1", payload=b"old"))
    old = OutboxRef("acme", accepted.outbox_id or "")
    new = OutboxRef("acme", await ledger.replace_outbox(old, b"new") or "")
    assert await ledger.replace_outbox(old, b"newer") is None
    assert await ledger.ack_outbox([old]) == 0
    assert await ledger.ack_outbox([new]) == 1
    assert [entry async for entry in ledger.read_outbox()] == []


async def test_only_the_named_shards_outbox_is_looked_in(ledger: Ledger) -> None:
    await funded(ledger)
    accepted = await ledger.accept(message("m1", payload=b"old"))
    ref = OutboxRef("acme", accepted.outbox_id or "")
    assert await ledger.replace_outbox(ref, b"new", shard="another-shard") is None
    [entry] = [entry async for entry in ledger.read_outbox()]
    assert entry.payload == b"old"
