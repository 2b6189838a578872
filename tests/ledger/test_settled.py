"""How long and in what form a settled hold is remembered (`ledger.layout.SETTLED_SLICES`)."""

from __future__ import annotations

from redis.asyncio import Redis

from ledger.config import LedgerConfig
from ledger.layout import HoldField, HoldState
from ledger.model import AcceptOutcome, SettleOutcome, VoidOutcome
from ledger.protocol import Ledger
from ledger.redis_ledger import RedisLedger
from tests.ledger.helpers import FakeClock
from tests.ledger.test_contract import funded, message

TTL = LedgerConfig().settled_hold_ttl


async def test_a_settled_hold_is_remembered_for_its_ttl_then_forgotten(
    ledger: Ledger, clock: FakeClock
) -> None:
    await funded(ledger)
    await ledger.accept_many([message("m1", price=30), message("m2")])
    assert (await ledger.capture("m1", "acme", 30)).outcome is SettleOutcome.OK
    assert (await ledger.release("m2", "acme")).outcome is SettleOutcome.OK
    clock.advance(TTL - 1)
    again = await ledger.capture("m1", "acme", 30)
    assert (again.outcome, again.captured) == (SettleOutcome.ALREADY_CAPTURED, 30)
    assert (await ledger.capture("m2", "acme", 10)).outcome is SettleOutcome.ALREADY_RELEASED
    assert (await ledger.accept(message("m1"))).outcome is AcceptOutcome.DUPLICATE
    assert await ledger.void_accepts([message("m1")]) == [VoidOutcome.KEPT]
    clock.advance(TTL // 2 + 2)
    assert (await ledger.capture("m1", "acme", 30)).outcome is SettleOutcome.UNKNOWN_HOLD
    assert (await ledger.release("m2", "acme")).outcome is SettleOutcome.UNKNOWN_HOLD
    state = await ledger.get_account("acme")
    assert state is not None and (state.balance, state.held) == (970, 0)


async def test_a_large_captured_amount_is_remembered_to_the_unit(ledger: Ledger) -> None:
    amount = 10**15 + 1  # past the 14 digits of Lua's own number formatting
    await funded(ledger, amount=amount)
    assert (await ledger.accept(message("m1", price=amount))).outcome is AcceptOutcome.OK
    assert (await ledger.capture("m1", "acme", amount)).captured == amount
    again = await ledger.capture("m1", "acme", amount)
    assert (again.outcome, again.captured) == (SettleOutcome.ALREADY_CAPTURED, amount)


async def test_a_bar_is_remembered_across_a_slice_boundary(
    ledger: Ledger, clock: FakeClock
) -> None:
    await funded(ledger)
    assert await ledger.void_accepts([message("m1")]) == [VoidOutcome.BARRED]
    for _ in range(4):
        clock.advance(TTL // 4)
        late = await ledger.accept(message("m1"))
        assert (late.outcome, late.original_message_id) == (AcceptOutcome.DUPLICATE, "m1")
    state = await ledger.get_account("acme")
    assert state is not None and state.held == 0


async def test_settling_deletes_the_hold_and_keeps_one_mark_in_an_expiring_slice(
    redis_client: Redis, namespace: str
) -> None:
    ledger = RedisLedger(redis_client, LedgerConfig(namespace=namespace, buckets=1))
    await ledger.start()
    await funded(ledger)
    await ledger.accept_many([message(f"m{n}", price=7) for n in range(3)])
    await ledger.capture_many([(f"m{n}", "acme", 7, "") for n in range(2)])
    await ledger.release("m2", "acme")
    holds = [key async for key in redis_client.scan_iter(match=f"{namespace}:*hold:*")]
    slices = [key async for key in redis_client.scan_iter(match=f"{namespace}:*settled:*")]
    assert holds == [] and len(slices) == 1
    assert await redis_client.hgetall(slices[0]) == {b"m0": b"c7", b"m1": b"c7", b"m2": b"r"}
    assert TTL < await redis_client.ttl(slices[0]) <= TTL * 3 // 2
    await ledger.aclose()


async def test_a_hold_settled_before_settled_slices_still_settles_once(
    redis_client: Redis, namespace: str
) -> None:
    """A hold record that an earlier version settled keeps its outcome in its
    own fields until it expires: it is never settled or voided again."""
    ledger = RedisLedger(redis_client, LedgerConfig(namespace=namespace))
    await ledger.start()
    await funded(ledger)
    assert (await ledger.accept(message("m1", price=30))).outcome is AcceptOutcome.OK
    assert (await ledger.accept(message("m2", price=30))).outcome is AcceptOutcome.OK
    for message_id, state, captured in (("m1", HoldState.CAPTURED, 30), ("m2", "released", 0)):
        hold = ledger.keys.hold("acme", message_id)
        await redis_client.hset(
            hold, mapping={HoldField.STATE: state, HoldField.CAPTURED: captured}
        )
    first = await ledger.capture("m1", "acme", 30)
    assert (first.outcome, first.captured) == (SettleOutcome.ALREADY_CAPTURED, 30)
    assert (await ledger.capture("m2", "acme", 30)).outcome is SettleOutcome.ALREADY_RELEASED
    assert await ledger.void_accepts([message("m1"), message("m2")]) == [VoidOutcome.KEPT] * 2
    assert (await ledger.release("m1", "other")).outcome is SettleOutcome.UNKNOWN_HOLD
    state = await ledger.get_account("acme")
    assert state is not None and (state.balance, state.held) == (1_000, 60)
    await ledger.aclose()
