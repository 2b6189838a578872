"""The ledger contract: every test runs against the in-memory twin and the real Redis."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from ledger.events import Event, EventKind, LedgerEvent, MessageEvent, MessageState
from ledger.model import (
    MAX_AMOUNT,
    AcceptOutcome,
    AcceptRequest,
    AccountLimits,
    AdjustOutcome,
    OutboxRef,
    QuotaPeriod,
    SettleOutcome,
    VoidOutcome,
)
from ledger.protocol import Ledger
from tests.ledger.helpers import FakeClock

Emitted = Callable[[], Awaitable[list[Event]]]


def message(
    message_id: str, account: str = "acme", parts: int = 1, price: int = 10, **extra: object
) -> AcceptRequest:
    return AcceptRequest(
        message_id=message_id,
        account=account,
        parts=parts,
        price=price,
        **extra,  # type: ignore[arg-type]
    )


async def funded(
    ledger: Ledger, account: str = "acme", amount: int = 1_000, **limits: object
) -> None:
    await ledger.set_account(account, AccountLimits(**limits))  # type: ignore[arg-type]
    await ledger.adjust(account, amount, reason="top-up", reference=f"fund-{account}")


async def test_set_account_creates_then_updates(ledger: Ledger) -> None:
    assert await ledger.get_account("acme") is None
    assert await ledger.set_account("acme", AccountLimits(credit_limit=50)) is True
    assert await ledger.set_account("acme", AccountLimits(credit_limit=70, throughput=5)) is False
    state = await ledger.get_account("acme")
    assert state is not None
    assert (state.balance, state.held, state.available) == (0, 0, 70)
    assert state.limits == AccountLimits(credit_limit=70, throughput=5)


async def test_accept_holds_price_times_parts_and_queues_payload(ledger: Ledger) -> None:
    await funded(ledger)
    result = await ledger.accept(message("m1", parts=3, price=7, payload=b"\x00\xffbody"))
    assert result.outcome is AcceptOutcome.OK and result.outbox_id
    state = await ledger.get_account("acme")
    assert state is not None and (state.balance, state.held) == (1_000, 21)
    [entry] = [entry async for entry in ledger.read_outbox()]
    assert (entry.entry_id, entry.message_id, entry.account) == (result.outbox_id, "m1", "acme")
    assert (entry.parts, entry.price, entry.payload) == (3, 7, b"\x00\xffbody")


async def test_unknown_and_disabled_accounts_are_refused(ledger: Ledger) -> None:
    assert (await ledger.accept(message("m1"))).outcome is AcceptOutcome.UNKNOWN_ACCOUNT
    await funded(ledger, enabled=False)
    assert (await ledger.accept(message("m2"))).outcome is AcceptOutcome.ACCOUNT_DISABLED
    await ledger.set_account("acme", AccountLimits(enabled=True))
    assert (await ledger.accept(message("m3"))).outcome is AcceptOutcome.OK


async def test_credit_limit_is_exact_to_the_minor_unit(ledger: Ledger) -> None:
    await funded(ledger, amount=100, credit_limit=25)
    assert (await ledger.accept(message("m1", price=125))).outcome is AcceptOutcome.OK
    assert (await ledger.accept(message("m2", price=1))).outcome is AcceptOutcome.NO_CREDIT
    assert (await ledger.accept(message("m3", price=0))).outcome is AcceptOutcome.OK
    state = await ledger.get_account("acme")
    assert state is not None and state.available == 0


async def test_idempotency_key_returns_the_original_message(ledger: Ledger) -> None:
    await funded(ledger)
    await funded(ledger, account="other")
    first = await ledger.accept(message("m1", idempotency_key="order-7"))
    again = await ledger.accept(message("m2", idempotency_key="order-7"))
    elsewhere = await ledger.accept(message("m3", account="other", idempotency_key="order-7"))
    assert first.outcome is AcceptOutcome.OK
    assert (again.outcome, again.original_message_id) == (AcceptOutcome.DUPLICATE, "m1")
    assert elsewhere.outcome is AcceptOutcome.OK
    state = await ledger.get_account("acme")
    assert state is not None and state.held == 10


async def test_a_refused_message_does_not_use_up_its_idempotency_key(ledger: Ledger) -> None:
    await funded(ledger, amount=5)
    assert (
        await ledger.accept(message("m1", idempotency_key="k"))
    ).outcome is AcceptOutcome.NO_CREDIT
    await ledger.adjust("acme", 5, reason="top-up", reference="more")
    assert (await ledger.accept(message("m2", idempotency_key="k"))).outcome is AcceptOutcome.OK


async def test_a_message_id_with_a_hold_is_a_duplicate_of_itself(ledger: Ledger) -> None:
    await funded(ledger)
    await ledger.accept(message("m1"))
    again = await ledger.accept(message("m1", price=99))
    assert (again.outcome, again.original_message_id) == (AcceptOutcome.DUPLICATE, "m1")
    state = await ledger.get_account("acme")
    assert state is not None and state.held == 10


async def test_one_bad_message_never_fails_its_batch(ledger: Ledger) -> None:
    await funded(ledger, amount=25)
    results = await ledger.accept_many(
        [message("m1"), message("m2", account="nobody"), message("m3", price=100), message("m4")]
    )
    assert [r.outcome for r in results] == [
        AcceptOutcome.OK,
        AcceptOutcome.UNKNOWN_ACCOUNT,
        AcceptOutcome.NO_CREDIT,
        AcceptOutcome.OK,
    ]
    assert [r.message_id for r in results] == ["m1", "m2", "m3", "m4"]


async def test_throughput_counts_parts_per_second(ledger: Ledger, clock: FakeClock) -> None:
    await funded(ledger, throughput=3)
    outcomes = [r.outcome for r in await ledger.accept_many([message(f"a{i}") for i in range(4)])]
    assert outcomes == [AcceptOutcome.OK] * 3 + [AcceptOutcome.THROTTLED]
    clock.advance(0.999)
    assert (await ledger.accept(message("b"))).outcome is AcceptOutcome.THROTTLED
    clock.advance(0.001)
    assert (await ledger.accept(message("c", parts=2))).outcome is AcceptOutcome.OK
    assert (await ledger.accept(message("d", parts=2))).outcome is AcceptOutcome.THROTTLED


async def test_a_message_larger_than_the_throughput_passes_only_an_empty_window(
    ledger: Ledger, clock: FakeClock
) -> None:
    await funded(ledger, throughput=2)
    assert (await ledger.accept(message("a", parts=5))).outcome is AcceptOutcome.OK
    assert (await ledger.accept(message("b"))).outcome is AcceptOutcome.THROTTLED
    clock.advance(1)
    assert (await ledger.accept(message("c"))).outcome is AcceptOutcome.OK
    assert (await ledger.accept(message("d", parts=5))).outcome is AcceptOutcome.THROTTLED


async def test_daily_quota_resets_at_utc_midnight(ledger: Ledger, clock: FakeClock) -> None:
    clock.now = datetime(2026, 3, 9, 23, 59, 59, tzinfo=UTC).timestamp()
    await funded(ledger, quota=3, quota_period=QuotaPeriod.DAY)
    assert (await ledger.accept(message("a", parts=3))).outcome is AcceptOutcome.OK
    assert (await ledger.accept(message("b"))).outcome is AcceptOutcome.QUOTA_EXCEEDED
    clock.advance(1)
    assert (await ledger.accept(message("c", parts=3))).outcome is AcceptOutcome.OK
    assert (await ledger.accept(message("d", parts=4))).outcome is AcceptOutcome.QUOTA_EXCEEDED


@pytest.mark.parametrize(
    ("year", "month"), [(2026, 1), (2028, 2), (2100, 2), (2000, 2), (2026, 12), (2027, 4)]
)
async def test_monthly_quota_resets_on_the_first_of_the_month(
    ledger: Ledger, clock: FakeClock, year: int, month: int
) -> None:
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC).timestamp()
    clock.now = following - 1
    await funded(ledger, quota=2, quota_period=QuotaPeriod.MONTH)
    assert (await ledger.accept(message("a", parts=2))).outcome is AcceptOutcome.OK
    assert (await ledger.accept(message("b"))).outcome is AcceptOutcome.QUOTA_EXCEEDED
    clock.advance(1)
    assert (await ledger.accept(message("c", parts=2))).outcome is AcceptOutcome.OK


async def test_capture_of_less_than_held_releases_the_rest(ledger: Ledger) -> None:
    await funded(ledger)
    await ledger.accept(message("m1", parts=2, price=30))
    result = await ledger.capture("m1", "acme", 45)
    assert (result.outcome, result.captured, result.released) == (SettleOutcome.OK, 45, 15)
    state = await ledger.get_account("acme")
    assert state is not None and (state.balance, state.held) == (955, 0)


async def test_capture_is_idempotent_and_says_what_it_did(ledger: Ledger) -> None:
    await funded(ledger)
    await ledger.accept(message("m1", price=30))
    await ledger.capture("m1", "acme", 30)
    again = await ledger.capture("m1", "acme", 30)
    late_release = await ledger.release("m1", "acme")
    assert (again.outcome, again.captured) == (SettleOutcome.ALREADY_CAPTURED, 30)
    assert (late_release.outcome, late_release.captured) == (SettleOutcome.ALREADY_CAPTURED, 30)
    state = await ledger.get_account("acme")
    assert state is not None and (state.balance, state.held) == (970, 0)


async def test_release_is_idempotent_and_blocks_a_later_capture(ledger: Ledger) -> None:
    await funded(ledger)
    await ledger.accept(message("m1", price=30))
    released = await ledger.release("m1", "acme")
    assert (released.outcome, released.released) == (SettleOutcome.OK, 30)
    assert (await ledger.release("m1", "acme")).outcome is SettleOutcome.ALREADY_RELEASED
    assert (await ledger.capture("m1", "acme", 30)).outcome is SettleOutcome.ALREADY_RELEASED
    state = await ledger.get_account("acme")
    assert state is not None and (state.balance, state.held) == (1_000, 0)


async def test_settle_refuses_unknown_holds_and_excess(ledger: Ledger) -> None:
    await funded(ledger)
    await funded(ledger, account="other")
    await ledger.accept(message("m1", price=30))
    assert (await ledger.capture("nope", "acme", 1)).outcome is SettleOutcome.UNKNOWN_HOLD
    assert (await ledger.release("m1", "other")).outcome is SettleOutcome.UNKNOWN_HOLD
    assert (await ledger.capture("m1", "acme", 31)).outcome is SettleOutcome.EXCEEDS_HOLD
    assert (await ledger.capture("m1", "acme", 30)).outcome is SettleOutcome.OK


async def test_adjust_is_idempotent_by_reference(ledger: Ledger) -> None:
    await ledger.set_account("acme", AccountLimits())
    first = await ledger.adjust("acme", 500, reason="bank transfer", reference="tx-1")
    again = await ledger.adjust("acme", 900, reason="bank transfer", reference="tx-1")
    assert (first.outcome, first.balance) == (AdjustOutcome.OK, 500)
    assert (again.outcome, again.balance) == (AdjustOutcome.DUPLICATE, 500)


async def test_adjust_debits_within_the_credit_limit_only(ledger: Ledger) -> None:
    await funded(ledger, amount=100, credit_limit=50)
    await ledger.accept(message("m1", price=40))
    refused = await ledger.adjust("acme", -111, reason="correction", reference="c1")
    done = await ledger.adjust("acme", -110, reason="correction", reference="c2")
    assert (refused.outcome, refused.balance, refused.held) == (AdjustOutcome.NO_CREDIT, 100, 40)
    assert (done.outcome, done.balance, done.held) == (AdjustOutcome.OK, -10, 40)


async def test_adjust_refuses_unknown_accounts_and_runaway_balances(ledger: Ledger) -> None:
    assert (
        await ledger.adjust("nobody", 5, reason="top-up", reference="r")
    ).outcome is AdjustOutcome.UNKNOWN_ACCOUNT
    await funded(ledger, amount=MAX_AMOUNT)
    over = await ledger.adjust("acme", 1, reason="top-up", reference="r")
    assert (over.outcome, over.balance) == (AdjustOutcome.BALANCE_LIMIT, MAX_AMOUNT)


@pytest.mark.parametrize(
    ("amount", "reason", "reference"),
    [(0, "x", "r"), (1, "", "r"), (1, "x", ""), (1, "x", "has space"), (MAX_AMOUNT + 1, "x", "r")],
)
async def test_adjust_rejects_bad_input_before_touching_anything(
    ledger: Ledger, amount: int, reason: str, reference: str
) -> None:
    await ledger.set_account("acme", AccountLimits())
    with pytest.raises(ValueError):
        await ledger.adjust("acme", amount, reason=reason, reference=reference)
    state = await ledger.get_account("acme")
    assert state is not None and state.balance == 0


async def test_outbox_ack_removes_entries_once(ledger: Ledger) -> None:
    await funded(ledger)
    await funded(ledger, account="other")
    results = await ledger.accept_many([message("m1"), message("m2", account="other")])
    first = OutboxRef("acme", results[0].outbox_id or "")
    assert await ledger.ack_outbox([first]) == 1
    assert await ledger.ack_outbox([first]) == 0
    assert [entry.message_id async for entry in ledger.read_outbox()] == ["m2"]
    assert [entry async for entry in ledger.read_outbox("another-shard")] == []


async def test_money_events_carry_the_state_after_each_change(
    ledger: Ledger, emitted: Emitted
) -> None:
    await funded(ledger, amount=100)
    await ledger.accept(message("m1", parts=2, price=10))
    await ledger.capture("m1", "acme", 15)
    await ledger.accept(message("m2", price=10))
    await ledger.release("m2", "acme")
    money = [e for e in await emitted() if isinstance(e, LedgerEvent)]
    assert [(e.kind, e.amount, e.balance, e.held, e.message_id) for e in money] == [
        (EventKind.ADJUST, 100, 100, 0, ""),
        (EventKind.HOLD, 20, 100, 20, "m1"),
        (EventKind.CAPTURE, 15, 85, 5, "m1"),
        (EventKind.RELEASE, 5, 85, 0, "m1"),
        (EventKind.HOLD, 10, 85, 10, "m2"),
        (EventKind.RELEASE, 10, 85, 0, "m2"),
    ]
    assert money[0].reference == "fund-acme" and money[1].parts == 2
    positions = [e.position for e in money]
    assert all(p is not None for p in positions) and positions == sorted(positions)  # type: ignore[type-var]


async def test_message_events_are_recorded(ledger: Ledger, emitted: Emitted) -> None:
    event = MessageEvent(
        message_id="m1",
        account="acme",
        state=MessageState.DELIVERED,
        ts_ms=1_767_225_600_000,
        connector="op-a",
        operator_message_id="abc123",
        error_code=0,
        parts=2,
    )
    await ledger.append_message_events([event])
    [stored] = await emitted()
    assert isinstance(stored, MessageEvent) and stored.position is not None
    assert stored == msgspec.structs.replace(event, position=stored.position)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(instant=st.integers(0, 7_258_118_400), period=st.sampled_from(QuotaPeriod))  # to 2200
async def test_quota_windows_follow_the_utc_calendar(
    ledger: Ledger, clock: FakeClock, instant: int, period: QuotaPeriod
) -> None:
    moment = datetime.fromtimestamp(instant, UTC)
    start = moment.replace(hour=0, minute=0, second=0)
    if period is QuotaPeriod.MONTH:
        start = start.replace(day=1)
        following = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    else:
        following = start + timedelta(days=1)
    account = f"a{instant}{period}"
    await ledger.set_account(account, AccountLimits(quota=1, quota_period=period))
    clock.now = start.timestamp()
    assert (
        await ledger.accept(message(f"{account}-1", account, price=0))
    ).outcome is AcceptOutcome.OK
    clock.now = following.timestamp() - 1
    late = await ledger.accept(message(f"{account}-2", account, price=0))
    assert late.outcome is AcceptOutcome.QUOTA_EXCEEDED
    clock.now = following.timestamp()
    assert (
        await ledger.accept(message(f"{account}-3", account, price=0))
    ).outcome is AcceptOutcome.OK


async def test_void_undoes_an_accept_that_ran(ledger: Ledger, emitted: Emitted) -> None:
    await funded(ledger)
    request = message("m1", parts=2, price=10, idempotency_key="order-7")
    assert (await ledger.accept(request)).outcome is AcceptOutcome.OK
    assert await ledger.void_accepts([request]) == [VoidOutcome.VOIDED]
    state = await ledger.get_account("acme")
    assert state is not None and (state.balance, state.held) == (1_000, 0)
    assert [entry async for entry in ledger.read_outbox()] == []
    money = [e for e in await emitted() if isinstance(e, LedgerEvent)]
    assert [(e.kind, e.amount, e.held) for e in money[-2:]] == [
        (EventKind.HOLD, 20, 20),
        (EventKind.RELEASE, 20, 0),
    ]
    # The key is free again, and the voided message can never be charged or voided twice.
    retry = await ledger.accept(message("m2", idempotency_key="order-7"))
    assert retry.outcome is AcceptOutcome.OK
    assert (await ledger.capture("m1", "acme", 20)).outcome is SettleOutcome.ALREADY_RELEASED
    assert await ledger.void_accepts([request]) == [VoidOutcome.KEPT]


async def test_void_bars_an_accept_that_arrives_later(ledger: Ledger, emitted: Emitted) -> None:
    await funded(ledger)
    request = message("m1", idempotency_key="order-7")
    assert await ledger.void_accepts([request]) == [VoidOutcome.BARRED]
    late = await ledger.accept(request)
    assert (late.outcome, late.original_message_id) == (AcceptOutcome.DUPLICATE, "m1")
    state = await ledger.get_account("acme")
    assert state is not None and state.held == 0
    assert [entry async for entry in ledger.read_outbox()] == []
    assert [e.kind for e in await emitted() if isinstance(e, LedgerEvent)] == [EventKind.ADJUST]
    assert (await ledger.accept(message("m2", idempotency_key="order-7"))).outcome is (
        AcceptOutcome.OK
    )


async def test_void_keeps_settled_holds_and_other_messages_keys(ledger: Ledger) -> None:
    await funded(ledger)
    sent = message("m1")
    await ledger.accept(sent)
    await ledger.capture("m1", "acme", 10)
    owner = message("m2", idempotency_key="k")
    await ledger.accept(owner)
    stranger = message("m3", idempotency_key="k")
    outcomes = await ledger.void_accepts([sent, stranger])
    assert outcomes == [VoidOutcome.KEPT, VoidOutcome.BARRED]
    state = await ledger.get_account("acme")
    assert state is not None and (state.balance, state.held) == (990, 10)
    again = await ledger.accept(message("m4", idempotency_key="k"))
    assert (again.outcome, again.original_message_id) == (AcceptOutcome.DUPLICATE, "m2")
    assert [entry.message_id async for entry in ledger.read_outbox()] == ["m1", "m2"]


async def test_settling_can_acknowledge_the_outbox_entry_in_the_same_step(
    ledger: Ledger,
) -> None:
    await funded(ledger)
    results = await ledger.accept_many([message("m1"), message("m2"), message("m3")])
    first, second, third = (result.outbox_id or "" for result in results)
    assert (await ledger.capture("m1", "acme", 10, outbox_id=first)).outcome is SettleOutcome.OK
    assert (await ledger.release("m2", "acme", outbox_id=second)).outcome is SettleOutcome.OK
    assert [entry.message_id async for entry in ledger.read_outbox()] == ["m3"]
    # Repeated (a retried batch), or for a message settled without it: the entry goes anyway.
    again = await ledger.capture("m1", "acme", 10, outbox_id=first)
    assert again.outcome is SettleOutcome.ALREADY_CAPTURED
    await ledger.capture("m3", "acme", 10)
    assert (await ledger.release("m3", "acme", outbox_id=third)).outcome is (
        SettleOutcome.ALREADY_CAPTURED
    )
    assert [entry async for entry in ledger.read_outbox()] == []
    with pytest.raises(ValueError):
        await ledger.capture("m1", "acme", 10, outbox_id="not-an-id")


async def test_settling_many_answers_in_order_and_a_bad_item_changes_nothing(
    ledger: Ledger,
) -> None:
    await funded(ledger)
    await funded(ledger, account="other")
    await ledger.accept_many([message("m1"), message("m2", account="other"), message("m3")])
    with pytest.raises(ValueError):
        await ledger.capture_many([("m1", "acme", 10, ""), ("m2", "other", -1, "")])
    with pytest.raises(ValueError):
        await ledger.release_many([("m1", "acme", ""), ("m3", "acme", "bad id")])
    state = await ledger.get_account("acme")
    assert state is not None and (state.balance, state.held) == (1_000, 20)
    captured = await ledger.capture_many([("m2", "other", 4, ""), ("m1", "acme", 10, "")])
    assert [(r.message_id, r.outcome, r.captured, r.released) for r in captured] == [
        ("m2", SettleOutcome.OK, 4, 6),
        ("m1", SettleOutcome.OK, 10, 0),
    ]
    released = await ledger.release_many([("m3", "acme", ""), ("m1", "acme", "")])
    assert [r.outcome for r in released] == [SettleOutcome.OK, SettleOutcome.ALREADY_CAPTURED]
