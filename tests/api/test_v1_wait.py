"""The OTP wait of POST /v1/messages: 200 at the milestone, 422 on failure, 504 at the deadline."""

from __future__ import annotations

from typing import Any

import httpx

from bench.smsc_sim import SimulatedSmsc
from bench.smsc_sim_config import Delay, OutcomeMix, ReceiptSettings, SimulatorConfig
from tests.api.harness import Api, Starter
from tests.engine.gateway_harness import CREDIT, PRICE

FR = "33612345678"


def operator(receipt_ms: int = 20, **outcomes: int) -> SimulatedSmsc:
    receipts = ReceiptSettings(delay=Delay(fixed_ms=receipt_ms), outcomes=OutcomeMix(**outcomes))
    return SimulatedSmsc(SimulatorConfig(port=0, receipts=receipts))


async def send(api: Api, **fields: Any) -> httpx.Response:
    body = {"to": FR, "from": "Bank", "text": "code 1234", "priority": "otp", **fields}
    return await api.client.post("/v1/messages", json=body, headers=api.auth())


async def balance(api: Api) -> dict[str, int]:
    await api.engine.pipeline.drain()
    answer: dict[str, int] = (await api.client.get("/v1/balance", headers=api.auth())).json()
    return answer


async def test_wait_until_the_operator_accepts(start: Starter) -> None:
    async with start() as api:
        answer = await send(api, wait="accepted", timeout=5)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["state"] == "enroute" and body["currency"] == "EUR"
        message = body["message"]
        assert (message["status"], message["to"], message["parts"]) == ("accepted", FR, 1)
        assert message["price_per_part"] == PRICE and message["id"]


async def test_wait_until_delivered(start: Starter) -> None:
    async with start() as api:
        answer = await send(api, wait="delivered", timeout=5)
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "delivered"
        assert (await balance(api))["available"] == CREDIT - PRICE


async def test_a_message_that_fails_is_422(start: Starter) -> None:
    async with start(operators=[operator(delivered=0, undeliverable=100)]) as api:
        answer = await send(api, wait="delivered", timeout=5)
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert (body["code"], body["state"]) == ("message_failed", "undeliverable")
        assert body["message_id"] and body["error"]


async def test_a_wait_that_times_out_releases_the_hold(start: Starter) -> None:
    # One submit per second to the operator: the second message stays queued.
    async with start(connector_settings={"throughput": 1}) as api:
        assert (await send(api)).status_code == 202
        answer = await send(api, wait="accepted", timeout=0.3)
        assert answer.status_code == 504, answer.text
        body = answer.json()
        assert (body["code"], body["released"], body["state"]) == ("wait_timeout", True, "deleted")
        # The first message is paid for (held or captured); the second's hold is back.
        assert (await balance(api))["available"] == CREDIT - PRICE


async def test_a_wait_for_delivery_that_times_out_after_sending_is_504_not_released(
    start: Starter,
) -> None:
    async with start(operators=[operator(receipt_ms=60_000)]) as api:
        answer = await send(api, wait="delivered", timeout=0.3)
        assert answer.status_code == 504, answer.text
        body = answer.json()
        assert (body["code"], body["released"], body["state"]) == ("wait_timeout", False, "enroute")
        assert (await balance(api))["available"] == CREDIT - PRICE


async def test_a_refused_wait_answers_the_refusal(start: Starter) -> None:
    async with start(credit_accounts=False) as api:
        answer = await send(api, wait="accepted", timeout=5)
        assert answer.status_code == 402 and answer.json()["code"] == "no_credit"
        assert not api.engine.pipeline.waiters
