"""Credit moved between a reseller and a sub-account: two ledger entries,
safe to retry, completed by a retry after a crash between them; on the
in-memory twin, one Redis node and a Redis Cluster (accounts in two slots)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engine.resellers.transfers import (
    CreditTransfers,
    TransferIncomplete,
    TransferOutcome,
    check_transfer,
    ledger_reference,
)
from ledger.config import LedgerConfig
from ledger.memory import MemoryLedger
from ledger.model import MAX_AMOUNT, AccountLimits, AdjustOutcome, AdjustResult
from ledger.protocol import Ledger
from ledger.redis_client import RedisClient
from ledger.redis_ledger import RedisLedger
from tests.cluster import ON_EACH_BACKEND

RESELLER, SUB = "reseller-1", "shop-7"


@pytest.fixture
async def ledger(backend: str, redis_client: RedisClient, namespace: str) -> AsyncIterator[Ledger]:
    config = LedgerConfig(namespace=namespace)
    chosen: Ledger
    if backend == "memory":
        chosen = MemoryLedger(config)
    else:
        chosen = RedisLedger(redis_client, config, shard="s1")
        assert chosen.keys.bucket_of(RESELLER) != chosen.keys.bucket_of(SUB)
    await chosen.start()
    await chosen.set_account(RESELLER, AccountLimits(credit_limit=1_000))
    await chosen.set_account(SUB, AccountLimits())
    await chosen.adjust(RESELLER, 10_000, reason="top-up", reference="top-up-1")
    yield chosen
    await chosen.aclose()


async def balances(ledger: Ledger) -> tuple[int, int]:
    reseller, sub = await ledger.get_account(RESELLER), await ledger.get_account(SUB)
    assert reseller is not None and sub is not None
    return reseller.balance, sub.balance


@ON_EACH_BACKEND
async def test_credit_moves_down_and_back_up_once_per_reference(ledger: Ledger) -> None:
    transfers = CreditTransfers(ledger)
    down = await transfers.move(RESELLER, SUB, 4_000, "t-1")
    assert down.outcome is TransferOutcome.OK
    assert await balances(ledger) == (6_000, 4_000)
    again = await transfers.move(RESELLER, SUB, 4_000, "t-1")
    assert again.outcome is TransferOutcome.DUPLICATE
    assert await balances(ledger) == (6_000, 4_000)
    up = await transfers.move(RESELLER, SUB, -1_500, "t-2")
    assert up.outcome is TransferOutcome.OK
    assert await balances(ledger) == (7_500, 2_500)


@ON_EACH_BACKEND
async def test_a_transfer_stays_within_the_givers_available_credit(ledger: Ledger) -> None:
    transfers = CreditTransfers(ledger)
    refused = await transfers.move(RESELLER, SUB, 11_001, "too-much")
    assert refused.outcome is TransferOutcome.NO_CREDIT
    assert await balances(ledger) == (10_000, 0)
    # Balance 10_000 plus a credit limit of 1_000: exactly that much may go.
    assert (await transfers.move(RESELLER, SUB, 11_000, "all")).outcome is TransferOutcome.OK
    assert await balances(ledger) == (-1_000, 11_000)
    back = await transfers.move(RESELLER, SUB, -11_001, "back-too-much")
    assert back.outcome is TransferOutcome.INSUFFICIENT_BALANCE


@ON_EACH_BACKEND
async def test_credit_moved_back_up_never_draws_on_the_sub_accounts_credit_limit(
    ledger: Ledger,
) -> None:
    await ledger.set_account(SUB, AccountLimits(credit_limit=5_000))
    transfers = CreditTransfers(ledger)
    assert (await transfers.move(RESELLER, SUB, 2_000, "down")).outcome is TransferOutcome.OK
    up = await transfers.move(RESELLER, SUB, -2_001, "up-too-much")
    assert up.outcome is TransferOutcome.INSUFFICIENT_BALANCE
    assert await balances(ledger) == (8_000, 2_000)
    assert (await transfers.move(RESELLER, SUB, -2_000, "up")).outcome is TransferOutcome.OK
    assert await balances(ledger) == (10_000, 0)
    # A retry of a whole transfer is still a duplicate, though the balance is gone now.
    assert (await transfers.move(RESELLER, SUB, -2_000, "up")).outcome is (
        TransferOutcome.DUPLICATE
    )


class CrashAfterDebit:
    """The ledger, but the process "dies" right after the first entry of a transfer."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.crashed = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.ledger, name)

    async def adjust(
        self, account: str, amount: int, *, reason: str, reference: str
    ) -> AdjustResult:
        if reference.endswith(":in") and not self.crashed:
            self.crashed = True
            raise ConnectionError("killed between the two entries")
        return await self.ledger.adjust(account, amount, reason=reason, reference=reference)


@ON_EACH_BACKEND
async def test_a_retry_completes_a_transfer_cut_between_its_entries(ledger: Ledger) -> None:
    crashing = CreditTransfers(CrashAfterDebit(ledger))  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        await crashing.move(RESELLER, SUB, 3_000, "t-cut")
    assert await balances(ledger) == (7_000, 0)  # in neither account, for now
    retried = await CreditTransfers(ledger).move(RESELLER, SUB, 3_000, "t-cut")
    assert retried.outcome is TransferOutcome.OK
    assert await balances(ledger) == (7_000, 3_000)
    assert (await CreditTransfers(ledger).move(RESELLER, SUB, 3_000, "t-cut")).outcome is (
        TransferOutcome.DUPLICATE
    )


@ON_EACH_BACKEND
async def test_a_receiver_that_cannot_take_the_credit_is_refused_before_the_debit(
    ledger: Ledger,
) -> None:
    transfers = CreditTransfers(ledger)
    unknown = await transfers.move(RESELLER, "nobody", 1_000, "t-lost")
    assert unknown.outcome is TransferOutcome.UNKNOWN_ACCOUNT
    await ledger.adjust(SUB, MAX_AMOUNT - 500, reason="test", reference="fill")
    full = await transfers.move(RESELLER, SUB, 501, "t-full")
    assert full.outcome is TransferOutcome.BALANCE_LIMIT
    assert await balances(ledger) == (10_000, MAX_AMOUNT - 500)
    await ledger.set_account("nobody", AccountLimits())
    assert (await transfers.move(RESELLER, "nobody", 1_000, "t-lost")).outcome is (
        TransferOutcome.OK
    )


class RefusedCredit:
    """The ledger, but the credit of a transfer is refused (a concurrent top-up
    filled the receiver between the check and the credit), and optionally its undo."""

    def __init__(self, ledger: Ledger, *, refuse_undo: bool = False) -> None:
        self.ledger = ledger
        self.refuse_undo = refuse_undo

    def __getattr__(self, name: str) -> object:
        return getattr(self.ledger, name)

    async def adjust(
        self, account: str, amount: int, *, reason: str, reference: str
    ) -> AdjustResult:
        if reference.endswith(":in") or (self.refuse_undo and reference.endswith(":undo")):
            return AdjustResult(reference=reference, outcome=AdjustOutcome.BALANCE_LIMIT)
        return await self.ledger.adjust(account, amount, reason=reason, reference=reference)


@ON_EACH_BACKEND
async def test_a_credit_refused_after_the_debit_gives_the_debit_back_for_good(
    ledger: Ledger,
) -> None:
    refused = await CreditTransfers(RefusedCredit(ledger)).move(RESELLER, SUB, 1_000, "t-x")  # type: ignore[arg-type]
    assert refused.outcome is TransferOutcome.UNDONE
    assert await balances(ledger) == (10_000, 0)
    retried = await CreditTransfers(ledger).move(RESELLER, SUB, 1_000, "t-x")
    assert retried.outcome is TransferOutcome.UNDONE  # the reference is spent: nothing made
    assert await balances(ledger) == (10_000, 0)


@ON_EACH_BACKEND
async def test_a_debit_that_cannot_be_given_back_is_incomplete_until_retried(
    ledger: Ledger,
) -> None:
    stuck = CreditTransfers(RefusedCredit(ledger, refuse_undo=True))  # type: ignore[arg-type]
    with pytest.raises(TransferIncomplete):
        await stuck.move(RESELLER, SUB, 1_000, "t-y")
    assert await balances(ledger) == (9_000, 0)
    undone = await CreditTransfers(RefusedCredit(ledger)).move(RESELLER, SUB, 1_000, "t-y")  # type: ignore[arg-type]
    assert undone.outcome is TransferOutcome.UNDONE
    assert await balances(ledger) == (10_000, 0)


def test_the_reference_names_the_terms() -> None:
    assert ledger_reference("r", "s", 5, "t") != ledger_reference("r", "s", 6, "t")
    assert ledger_reference("r", "s", 5, "t") != ledger_reference("r", "x", 5, "t")
    with pytest.raises(ValueError, match="amount"):
        check_transfer(0, "t")
    with pytest.raises(ValueError, match="reference"):
        check_transfer(5, "has space")
