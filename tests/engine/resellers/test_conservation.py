"""Property: whatever mix of transfers (some cut between their entries and
retried), sends and settlements, the money in the accounts plus what was
spent stays what was put in, and no account goes below its credit limit."""

from __future__ import annotations

import asyncio
import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.resellers.transfers import CreditTransfers, TransferIncomplete
from ledger.memory import MemoryLedger
from ledger.model import AcceptOutcome, AcceptRequest, AccountLimits
from tests.engine.resellers.test_transfers import CrashAfterDebit

RESELLER = "r"
SUBS = ("s1", "s2")
START = 10_000
LIMITS = {RESELLER: 2_000, "s1": 0, "s2": 500}

transfer = st.tuples(
    st.just("transfer"), st.sampled_from(SUBS), st.integers(-6_000, 6_000).filter(bool),
    st.integers(0, 5), st.booleans(),
)  # fmt: skip
send = st.tuples(
    st.just("send"), st.sampled_from((RESELLER, *SUBS)), st.integers(1, 4),
    st.integers(1, 1_500), st.booleans(),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(transfer, send), max_size=40))
def test_money_is_conserved_and_limits_hold(steps: list[tuple[object, ...]]) -> None:
    asyncio.run(_run(steps))


async def _run(steps: list[tuple[object, ...]]) -> None:
    ledger = MemoryLedger()
    await ledger.start()
    for account, limit in LIMITS.items():
        await ledger.set_account(account, AccountLimits(credit_limit=limit))
    await ledger.adjust(RESELLER, START, reason="top-up", reference="top-up")
    transfers = CreditTransfers(ledger)
    spent = 0
    for number, step in enumerate(steps):
        if step[0] == "transfer":
            _, sub, amount, reference, cut = step
            name = f"t{reference}"  # references repeat: a retry, or another transfer
            if cut:
                crashing = CreditTransfers(CrashAfterDebit(ledger))  # type: ignore[arg-type]
                with contextlib.suppress(ConnectionError, TransferIncomplete):
                    await crashing.move(RESELLER, str(sub), int(amount), name)
            await transfers.move(RESELLER, str(sub), int(amount), name)
        else:
            _, account, parts, price, delivered = step
            request = AcceptRequest(
                message_id=f"m{number}", account=str(account), parts=int(parts), price=int(price)
            )
            accepted = await ledger.accept(request)
            if accepted.outcome is AcceptOutcome.OK:
                if delivered:
                    await ledger.capture(request.message_id, request.account, request.amount)
                    spent += request.amount
                else:
                    await ledger.release(request.message_id, request.account)
        total = spent
        for account, limit in LIMITS.items():
            state = await ledger.get_account(account)
            assert state is not None
            assert state.balance - state.held >= -limit, (account, state)
            total += state.balance
        assert total == START
