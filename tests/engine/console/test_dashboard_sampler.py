"""The dashboard's samples of a real gateway: rates, receipts, queues, credit alerts."""

from __future__ import annotations

import asyncio

from engine.console.dashboard_sampler import DashboardSampler
from tests.engine.gateway_harness import (
    CREDIT,
    OTP,
    Customer,
    account,
    running_gateway,
    simulator,
)
from tests.engine.peers import until


async def test_two_samples_give_rates_receipt_ratio_and_credit_alerts() -> None:
    accounts = (account("bank", low_balance=CREDIT * 2), account("shop"))
    async with running_gateway("memory", [simulator()], accounts=accounts) as gateway:
        sampler = DashboardSampler(gateway, keep=10)
        first = sampler.sample(now=1_000.0)
        assert [(c.connector, c.submitted_per_s) for c in first.connectors] == [("op-0", 0.0)]
        assert first.operators == []

        customer = Customer()
        connection = await customer.bind(gateway)
        for _ in range(4):
            await connection.call(OTP)
        for _ in range(4):
            await asyncio.wait_for(customer.delivered.get(), 10)
        await gateway.credit.refresh()

        second = sampler.sample(now=1_002.0)
        [op] = second.connectors
        assert (op.submitted_per_s, op.receipts_per_s, op.queue, op.bound) == (2.0, 2.0, 0, 1)
        [receipts] = second.operators
        assert (receipts.connector, receipts.receipts, receipts.delivered) == ("op-0", 4, 4)
        assert receipts.delivered_ratio == 1.0
        [alert] = second.credit_alerts  # bank is below twice its credit; shop has no threshold
        assert (alert.account, alert.threshold) == ("bank", CREDIT * 2)
        assert alert.available < CREDIT
        assert list(sampler.samples) == [first, second] and sampler.latest() == second
        await connection.unbind()


async def test_the_ring_keeps_the_last_samples_and_a_restarted_counter_is_no_rate() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        sampler = DashboardSampler(gateway, keep=3)
        for n in range(5):
            sampler.sample(now=float(n))
        assert [s.at for s in sampler.samples] == [2.0, 3.0, 4.0]
        sampler._last.submitted["op-0"] = 10  # type: ignore[union-attr]  # as before a restart
        assert sampler.sample(now=5.0).connectors[0].submitted_per_s == 0.0


async def test_start_samples_until_stop() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        sampler = DashboardSampler(gateway, interval=0.01)
        sampler.start()
        await until(lambda: len(sampler.samples) >= 3)
        await sampler.stop()
        taken = len(sampler.samples)
        await asyncio.sleep(0.05)
        assert len(sampler.samples) == taken
