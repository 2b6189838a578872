"""The reseller service audits every transfer, whatever became of it."""

from __future__ import annotations

import pytest

from engine.resellers.transfers import CreditTransfers, TransferIncomplete, TransferOutcome
from tests.engine.resellers.harness import account, shard
from tests.engine.resellers.test_transfers import RefusedCredit


async def outcomes(resellers: object) -> list[object]:
    entries = await resellers.admin.audit.recent(10)  # type: ignore[attr-defined]
    return [e.detail["outcome"] for e in entries if e.action == "credit.transfer"]


async def test_an_undone_or_incomplete_transfer_is_audited() -> None:
    resellers = await shard(account("r1", reseller=True), account("s1", parent="r1"), credit=5_000)
    ledger = resellers.admin.gateway.ledger
    resellers.transfers = CreditTransfers(RefusedCredit(ledger))  # type: ignore[arg-type]
    undone = await resellers.move_credit("r1", "s1", 1_000, "t-1")
    assert undone.outcome is TransferOutcome.UNDONE
    stuck = RefusedCredit(ledger, refuse_undo=True)
    resellers.transfers = CreditTransfers(stuck)  # type: ignore[arg-type]
    with pytest.raises(TransferIncomplete):
        await resellers.move_credit("r1", "s1", 1_000, "t-2")
    assert await outcomes(resellers) == ["incomplete", "undone"]
