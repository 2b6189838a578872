"""An admin adjustment may not take a reference the gateway writes itself
(rebates, transfers, reseller margins): it would be taken for one of them."""

from __future__ import annotations

import pytest

from engine.admin.views import AdminRefused
from engine.billing.invoices import UNPAID_PREFIXES
from engine.resellers.transfers import TransferOutcome
from tests.engine.resellers.harness import account, shard


@pytest.mark.parametrize("prefix", UNPAID_PREFIXES)
async def test_an_admin_reference_with_a_reserved_prefix_is_refused(prefix: str) -> None:
    resellers = await shard(account("r1", reseller=True), account("s1", parent="r1"))
    with pytest.raises(AdminRefused) as refused:
        await resellers.admin.adjust("s1", 1_000, reason="top-up", reference=f"{prefix}2026-11")
    assert refused.value.code == "reserved_reference"
    state = await resellers.admin.gateway.ledger.get_account("s1")
    assert state is not None and state.balance == 0
    ok = await resellers.admin.adjust("s1", 1_000, reason="top-up", reference="rebate-2026-11")
    assert ok.balance == 1_000
    # The gateway's own entries, written on the ledger directly, are unaffected.
    moved = await resellers.move_credit("r1", "s1", -1_000, "t-1")
    assert moved.outcome is TransferOutcome.OK
