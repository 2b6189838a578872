"""An operator that is bound but useless leaves routing, over real sockets.

The harness routes +33 to op-0 first and fails over to op-1. op-0 here
either reports every message undeliverable or refuses every submit_sm; once
its health says so, new traffic goes to op-1 straight away, and the admin
view, the metrics and one log line say why.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import generate_latest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from bench.smsc_sim_config import Delay, OutcomeMix, ReceiptSettings
from engine.admin.connectors import ConnectorAdministration
from engine.config import GatewayLimits
from smpp import pdu as p
from smpp.aio import SmppConnection
from smpp.constants import CommandStatus as S
from tests.engine.gateway_harness import PRICE, Customer
from tests.engine.peers import WAIT, RecordingSmsc, gateway_with, recording_operator, submit, until

BATCH = 5
"""Messages per batch; also the samples a health figure needs."""
HEALTH = {
    "health_min_samples": BATCH,
    "health_min_delivery_ratio": 0.5,
    "health_max_error_rate": 0.5,
    "health_probe_interval": 3_600.0,
    "max_submit_attempts": 1,
}
QUICK = GatewayLimits(failover_after=0.2, health_interval=0.05)

UNDELIVERABLE = ReceiptSettings(
    delay=Delay(fixed_ms=20), outcomes=OutcomeMix(delivered=0, undeliverable=100)
)
FAULTS = {
    "undeliverable": ({"receipts": UNDELIVERABLE}, "delivery_ratio"),
    "refusing": ({"error_rate": 1.0, "error_status": "ESME_RSYSERR"}, "error_rate"),
}


async def send_batch(connection: SmppConnection, customer: Customer) -> list[p.DeliverSm]:
    """BATCH messages asking for receipts; returns their receipts."""
    answers = await asyncio.gather(
        *(connection.call(submit(registered_delivery=1)) for _ in range(BATCH))
    )
    assert all(answer.command_status == S.ESME_ROK for answer in answers)
    receipts = []
    async with asyncio.timeout(WAIT):
        while len(receipts) < BATCH:
            receipts.append(await customer.delivered.get())
    return receipts  # type: ignore[return-value]


def submits(operator: RecordingSmsc) -> int:
    return len(operator.submitted)


@pytest.mark.parametrize("fault", FAULTS)
async def test_an_unhealthy_operator_leaves_routing_for_the_failover(
    fault: str, redis_client: Redis, namespace: str
) -> None:
    settings, cause = FAULTS[fault]
    sick: RecordingSmsc = recording_operator(**settings)
    well: RecordingSmsc = recording_operator()
    with capture_logs() as logs:
        async with gateway_with(
            "memory",
            [sick, well],
            redis_client,
            namespace,
            credit=100 * PRICE,
            connector_settings=HEALTH,
            limits=QUICK,
        ) as gateway:
            await until(lambda: gateway.pipeline.usable == frozenset({"op-0", "op-1"}))
            customer = Customer()
            connection = await customer.bind(gateway)
            await send_batch(connection, customer)
            assert submits(sick) == BATCH, "op-0 took the first batch"
            await until(lambda: gateway.pipeline.usable == frozenset({"op-1"}))
            before = submits(well)
            receipts = await send_batch(connection, customer)
            assert submits(sick) == BATCH, "nothing more went to op-0"
            assert submits(well) == before + BATCH
            assert all(b"stat:DELIVRD" in r.short_message for r in receipts)
            view = ConnectorAdministration(gateway).connector("op-0")
            assert view.health.routing == "out"
            scraped = generate_latest(gateway.registry).decode()
            assert 'smsgw_connector_routing{connector="op-0",state="out"} 1.0' in scraped
            await connection.unbind()
    out = [entry for entry in logs if entry["event"] == "connector out of routing"]
    assert [(entry["connector"], entry["cause"]) for entry in out] == [("op-0", cause)]
    print(f"\n{fault}: {_figures(out[0])}")


def _figures(entry: dict[str, Any]) -> str:
    keys = ("submits", "error_rate", "receipts", "delivery_ratio", "latency_mean")
    return " ".join(f"{key}={entry[key]}" for key in keys)
