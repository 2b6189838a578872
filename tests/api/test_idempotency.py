"""The Idempotency-Key header of POST /v1/messages, on both backends."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from engine.customers.idempotency import Claim, fingerprint
from tests.api.harness import Api, Starter, running_api
from tests.engine.gateway_harness import CREDIT, PRICE, account

FR = "33612345678"


def body(**fields: Any) -> bytes:
    return orjson.dumps({"to": FR, "from": "Bank", "text": "code 1234", **fields})


async def post(api: Api, content: bytes, key: str, account: str = "bank") -> httpx.Response:
    headers = {**api.auth(account), "Idempotency-Key": key, "Content-Type": "application/json"}
    return await api.client.post("/v1/messages", content=content, headers=headers)


async def available(api: Api, account: str = "bank") -> int:
    answer = await api.client.get("/v1/balance", headers=api.auth(account))
    return int(answer.json()["available"])


async def test_a_retry_gets_the_identical_answer_and_sends_nothing(start: Starter) -> None:
    async with start() as api:
        first = await post(api, body(), "order-42")
        again = await post(api, body(), "order-42")
        assert first.status_code == again.status_code == 202
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert await available(api) == CREDIT - PRICE


async def test_another_body_under_the_same_key_is_409(start: Starter) -> None:
    async with start() as api:
        await post(api, body(), "order-42")
        conflict = await post(api, body(text="code 9999"), "order-42")
        assert conflict.status_code == 409
        assert conflict.json()["code"] == "idempotency_conflict"
        assert await available(api) == CREDIT - PRICE


async def test_a_key_still_running_is_409(start: Starter) -> None:
    async with start() as api:
        assert api.app is not None
        store = api.app.state.idempotency
        running = await store.claim("bank", "order-42", fingerprint(body()), hold=60)
        assert isinstance(running, Claim)
        busy = await post(api, body(), "order-42")
        assert busy.status_code == 409 and busy.json()["code"] == "idempotency_in_progress"
        assert await available(api) == CREDIT


async def test_keys_are_per_account(start: Starter) -> None:
    async with start() as api:
        bank = await post(api, body(), "order-42")
        shop = await post(api, body(), "order-42", account="shop")
        assert shop.status_code == 202 and "idempotent-replayed" not in shop.headers
        assert shop.json()["messages"][0]["id"] != bank.json()["messages"][0]["id"]


async def test_a_refusal_frees_its_key(start: Starter) -> None:
    """Nothing was accepted: the request runs again, and a corrected body
    under the same key is no conflict."""
    async with start() as api:
        for refused, status in ((body(to="4912345"), 422), (body(sender="x"), 400)):
            first = await post(api, refused, "k")
            again = await post(api, refused, "k")
            assert first.status_code == again.status_code == status
            assert "idempotent-replayed" not in again.headers
        fixed = await post(api, body(), "k")
        assert fixed.status_code == 202
        assert (await post(api, body(), "k")).headers["idempotent-replayed"] == "true"
        assert await available(api) == CREDIT - PRICE


async def test_a_wait_that_ended_after_acceptance_is_replayed(start: Starter) -> None:
    async with start(connector_settings={"throughput": 1}) as api:
        assert (await post(api, body(), "first")).status_code == 202
        waited = body(wait="accepted", timeout=0.3)
        first = await post(api, waited, "k")
        again = await post(api, waited, "k")
        assert first.status_code == 504 and first.json()["message_id"]
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"


async def test_a_throttled_request_may_be_retried_under_its_key(start: Starter) -> None:
    accounts = (account("bank", throughput=1), account("shop"))
    async with start(accounts=accounts) as api:
        for attempt in range(5):
            throttled = await post(api, body(), f"k{attempt}")
            if throttled.status_code == 429:
                break
        assert throttled.status_code == 429
        retried = await post(api, body(), f"k{attempt}")
        assert "idempotent-replayed" not in retried.headers


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9".encode("latin-1"), "a\tb"])
async def test_an_invalid_key_is_400(key: str | bytes) -> None:
    async with running_api("memory") as api:
        headers = {**api.auth(), "Idempotency-Key": key, "Content-Type": "application/json"}
        answer = await api.client.post("/v1/messages", content=body(), headers=headers)
        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid_idempotency_key"
