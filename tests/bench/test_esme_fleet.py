"""The ESME fleet in-process against the simulated operator: every message
answered and every receipt matched, paced or not, and refusals counted."""

from __future__ import annotations

from typing import Any

from bench.esme_fleet import EsmeFleet, FleetSettings
from bench.smsc_sim import SimulatedSmsc
from bench.smsc_sim_config import Delay, ReceiptSettings, SimulatorConfig

COUNT = 300


async def _run(simulator: dict[str, Any], **fleet: Any) -> dict[str, Any]:
    receipts = ReceiptSettings(delay=Delay(fixed_ms=1))
    config = SimulatorConfig(port=0, seed=3, receipts=receipts, **simulator)
    async with SimulatedSmsc(config) as operator:
        settings = FleetSettings(
            port=operator.port, system_id="bank", password="pw", receipt_wait=2.0, **fleet
        )
        return await EsmeFleet(settings).run()


async def test_unpaced_fleet_fills_every_window_and_matches_every_receipt() -> None:
    report = await _run({}, binds=3, window=7, count=COUNT)
    assert report["submitted"] == report["accepted"] == report["receipts"] == COUNT
    assert report["failed"] == {} and report["refused"] == {}
    assert report["receipts_missing"] == report["receipts_unmatched"] == 0
    assert not report["timed_out"] and report["lost_binds"] == 0


async def test_paced_fleet_sends_everything_too() -> None:
    report = await _run({}, binds=2, window=4, count=60, rate=3_000.0)
    assert report["submitted"] == report["accepted"] == report["receipts"] == 60
    assert not report["timed_out"]


async def test_refusals_are_counted_and_get_no_receipt() -> None:
    report = await _run(
        {"error_rate": 0.3, "error_status": "ESME_RSUBMITFAIL"}, binds=2, window=5, count=COUNT
    )
    refused = report["refused"]["ESME_RSUBMITFAIL"]
    assert 0 < refused < COUNT
    assert report["accepted"] + refused == report["submitted"] == COUNT
    assert report["receipts"] == report["accepted"]
