"""Low-balance alerts: one webhook per fall below the threshold, re-armed
above it, and the gauge lists who is low."""

from __future__ import annotations

import asyncio

import orjson

from engine.billing.alerts import LowBalanceAlerts
from engine.webhooks import MemoryDeliveryLog, WebhookDispatcher
from engine.webhooks.dispatcher import WebhookLimits
from ledger.model import AccountLimits, AccountState
from tests.engine.gateway_harness import account
from tests.engine.webhook_receiver import Receiver


def reading(balance: int) -> dict[str, AccountState]:
    return {"bank": AccountState(account="bank", limits=AccountLimits(), balance=balance, held=0)}


async def test_a_fall_below_the_threshold_is_told_once_then_again_after_recovering(
    receiver: Receiver,
) -> None:
    accounts = {"bank": account("bank", low_balance=1_000, webhook_url=receiver.url)}
    dispatcher = WebhookDispatcher(WebhookLimits(private_networks=True), MemoryDeliveryLog(10))
    dispatcher.start()
    alerts = LowBalanceAlerts(accounts, dispatcher)
    try:
        for balance in (5_000, 900, 800, 2_000, 700):
            alerts.observe(reading(balance))
            await alerts.drain()
        async with asyncio.timeout(10):
            while len(receiver.requests) < 2:
                await asyncio.sleep(0.01)
        bodies = [orjson.loads(request.body) for request in receiver.requests]
        assert [(b["event"], b["available"]) for b in bodies] == [
            ("low_balance", 900),
            ("low_balance", 700),
        ]
        assert bodies[0]["threshold"] == 1_000 and alerts.low == {"bank"}
        [family] = alerts.collect()
        assert [sample.labels for sample in family.samples] == [{"account": "bank"}]
    finally:
        await dispatcher.stop(1)
