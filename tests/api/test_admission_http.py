"""Admission over HTTP: the flooding account gets 429 with Retry-After, another
account's OTP is accepted (issue 16). The ledger is held to saturate the
commit point without timing (`HeldLedger`)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from engine.config import GatewayLimits
from engine.customers.admission import AdmissionLimits
from tests.api.harness import Api, running_api
from tests.engine.customers.test_admission import CREDIT, HeldLedger, until
from tests.engine.gateway_harness import account


async def send(api: Api, account_id: str, **fields: Any) -> httpx.Response:
    body = {"to": "33612345678", "from": "Bank", "text": "code 1234", **fields}
    return await api.client.post("/v1/messages", json=body, headers=api.auth(account_id))


async def test_a_flooding_account_gets_429_with_retry_after_and_an_otp_goes_through() -> None:
    limits = GatewayLimits(
        admission=AdmissionLimits(pending_per_account=2, pending_floor=2, contention_window=60)
    )
    accounts = (account("bank"), account("shop"))
    async with running_api("memory", accounts=accounts, credit=CREDIT, limits=limits) as api:
        pipeline = api.engine.gateway.pipeline
        held = HeldLedger(pipeline.ledger)
        pipeline.ledger = held  # type: ignore[assignment]
        pipeline.commits.ledger = held  # type: ignore[assignment]
        assert pipeline.admission.enter("bank")  # the commit point is shared:
        pipeline.admission.leave(["bank"], latency=0.0)  # bank submitted a moment ago
        waiting = [asyncio.create_task(send(api, "shop")) for _ in range(2)]
        await until(lambda: pipeline.admission.pending("shop") == 2)

        answer = await send(api, "shop")
        assert answer.status_code == 429, answer.text
        assert answer.json()["code"] == "overloaded"
        assert answer.headers["retry-after"] == "1"

        otp = asyncio.create_task(send(api, "bank", priority="otp"))
        await until(lambda: pipeline.admission.pending("bank") == 1)
        held.open()
        assert (await otp).status_code == 202
        assert [(await task).status_code for task in waiting] == [202, 202]
