"""Verify over HTTP (POST /v1/verifications, its check, GET), on both backends,
with a recording operator: the person's SMS holds the code the check approves."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from api.ops import openapi_document
from api.v1.verify import OPERATIONS, routes
from engine.verify import VerifySettings
from tests.api.harness import Api, running_api
from tests.api.test_v1_send import problem
from tests.clock import FakeClock
from tests.engine.gateway_harness import CREDIT, PRICE
from tests.engine.peers import RecordingSmsc, recording_operator
from tests.engine.verify.harness import code_in, texts, verify_service

FR = "33612345678"


class VerifyApi:
    def __init__(self, api: Api, operator: RecordingSmsc, clock: FakeClock) -> None:
        self.api = api
        self.operator = operator
        self.clock = clock

    async def start(self, account: str = "bank", **fields: Any) -> httpx.Response:
        body = {"to": FR, **fields}
        return await self.api.client.post(
            "/v1/verifications", json=body, headers=self.api.auth(account)
        )

    async def started(self, **fields: Any) -> dict[str, Any]:
        answer = await self.start(**fields)
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        assert answer.headers["location"] == f"/v1/verifications/{body['id']}"
        return body

    async def check(self, verification_id: str, code: str, account: str = "bank") -> httpx.Response:
        return await self.api.client.post(
            f"/v1/verifications/{verification_id}/check",
            json={"code": code},
            headers=self.api.auth(account),
        )

    async def checked(self, verification_id: str, code: str) -> dict[str, Any]:
        answer = await self.check(verification_id, code)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def get(self, verification_id: str, account: str = "bank") -> httpx.Response:
        return await self.api.client.get(
            f"/v1/verifications/{verification_id}", headers=self.api.auth(account)
        )

    async def code(self, nth: int = 0) -> str:
        await self.operator.wait_until(lambda: len(texts(self.operator.submitted, FR)) > nth)
        return code_in(texts(self.operator.submitted, FR)[nth])


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def verifying(backend: str, redis_client: Redis, namespace: str) -> Any:
    @asynccontextmanager
    async def run(
        settings: VerifySettings | None = None, **options: Any
    ) -> AsyncIterator[VerifyApi]:
        operator = recording_operator()
        client = redis_client if backend == "redis" else None
        async with running_api(backend, client, namespace, [operator], **options) as api:
            clock = FakeClock(time.time())
            api.engine.verify = verify_service(api.engine, client, namespace, settings, clock=clock)
            assert api.app is not None
            if not any(getattr(r, "path", "") == "/v1/verifications" for r in api.app.routes):
                api.app.router.routes.extend(routes)  # until api/app.py serves them
            yield VerifyApi(api, operator, clock)

    return run


async def test_a_code_sent_then_checked_wrong_right_and_again(verifying: Any) -> None:
    async with verifying() as verify:
        body = await verify.started()
        assert (body["status"], body["to"], body["channel"]) == ("pending", FR, "sms")
        assert (body["code_length"], body["attempts_left"]) == (6, 5)
        assert body["expires_at"].endswith("Z") and body["message_id"]
        code = await verify.code()
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        assert await verify.checked(body["id"], wrong) == {
            "id": body["id"],
            "status": "pending",
            "to": FR,
            "attempts_left": 4,
            "expires_at": body["expires_at"],
        }
        assert (await verify.checked(body["id"], code))["status"] == "approved"
        assert (await verify.checked(body["id"], code))["status"] == "already_used"
        found = (await verify.get(body["id"])).json()
        assert (found["status"], found["attempts_left"]) == ("approved", 4)
        message = await verify.api.client.get(
            f"/v1/messages/{body['message_id']}", headers=verify.api.auth()
        )
        assert message.status_code == 200
        balance = (await verify.api.client.get("/v1/balance", headers=verify.api.auth())).json()
        assert balance["available"] == CREDIT - PRICE  # billed as the message it is


async def test_an_expired_code_is_refused(verifying: Any) -> None:
    async with verifying() as verify:
        body = await verify.started(expiry=30)
        code = await verify.code()
        verify.clock.advance(30)
        checked = await verify.checked(body["id"], code)
        assert (checked["status"], checked["attempts_left"]) == ("expired", 5)
        assert (await verify.get(body["id"])).json()["status"] == "expired"


async def test_max_attempts(verifying: Any) -> None:
    async with verifying(VerifySettings(max_attempts=2)) as verify:
        body = await verify.started(code_length=8)
        code = await verify.code()
        wrong = f"{(int(code) + 1) % 100_000_000:08d}"
        assert (await verify.checked(body["id"], wrong))["status"] == "pending"
        last = await verify.checked(body["id"], wrong)
        assert (last["status"], last["attempts_left"]) == ("max_attempts_reached", 0)
        assert (await verify.checked(body["id"], code))["status"] == "max_attempts_reached"
        assert (await verify.get(body["id"])).json()["status"] == "max_attempts_reached"


async def test_codes_to_one_number_are_rate_limited(verifying: Any) -> None:
    settings = VerifySettings(resend_interval=60, sends_per_window=3, send_window=900)
    async with verifying(settings) as verify:
        await verify.started()
        answer = await verify.start()
        body = problem(answer, 429, "too_many_verifications")
        assert answer.headers["retry-after"] == "60"
        assert body["limit"] == "resend_interval" and "resend_interval" in body["detail"]
        verify.clock.advance(60)
        await verify.started()
        verify.clock.advance(60)
        await verify.started()
        verify.clock.advance(60)
        answer = await verify.start()
        body = problem(answer, 429, "too_many_verifications")
        assert (answer.headers["retry-after"], body["limit"]) == ("720", "sends_per_window")
        assert (await verify.start("shop")).status_code == 201  # another account counts alone


async def test_another_accounts_verification_is_404(verifying: Any) -> None:
    async with verifying() as verify:
        body = await verify.started()
        code = await verify.code()
        problem(await verify.get(body["id"], "shop"), 404, "verification_not_found")
        problem(await verify.check(body["id"], code, "shop"), 404, "verification_not_found")
        problem(await verify.get("f" * 32), 404, "verification_not_found")
        assert (await verify.checked(body["id"], code))["status"] == "approved"


@pytest.mark.parametrize(
    ("fields", "status", "code", "words"),
    [
        ({"code_length": 3}, 400, "invalid_request", "$.code_length"),
        ({"code_length": 9}, 400, "invalid_request", "code_length must be in 4..8"),
        ({"expiry": 3601}, 400, "invalid_request", "$.expiry"),
        ({"template": "Your code"}, 400, "invalid_request", "$.template"),
        ({"channel": "voice"}, 400, "invalid_request", "$.channel"),
        ({"text": "{code}"}, 400, "invalid_request", "text"),
        ({"from": "a sender far too long"}, 400, "invalid_request", "$.from"),
        ({"to": "33"}, 422, "invalid_number", "to"),
        ({"to": "4915112345678"}, 422, "no_route", ""),
    ],
)
async def test_a_bad_request_says_what_is_wrong(
    verifying: Any, fields: dict[str, Any], status: int, code: str, words: str
) -> None:
    async with verifying(VerifySettings(code_length_max=8)) as verify:
        answer = await verify.start(**fields)
        assert words in problem(answer, status, code).get("detail", "")
        assert verify.operator.submitted == []


async def test_a_bad_check_costs_no_attempt(verifying: Any) -> None:
    async with verifying() as verify:
        body = await verify.started()
        for code in ("12ab56", "123", "12345678901"):
            answer = await verify.check(body["id"], code)
            assert "$.code" in problem(answer, 400, "invalid_request")["detail"]
        answer = await verify.api.client.post(
            f"/v1/verifications/{body['id']}/check",
            content=b"code=123456",
            headers={**verify.api.auth(), "content-type": "application/x-www-form-urlencoded"},
        )
        problem(answer, 415, "unsupported_media_type")
        assert (await verify.get(body["id"])).json()["attempts_left"] == 5


async def test_no_credit_sends_no_code(verifying: Any) -> None:
    async with verifying(credit=PRICE - 1) as verify:
        problem(await verify.start(), 402, "no_credit")
        assert verify.operator.submitted == []


async def test_a_retry_with_its_idempotency_key_gets_the_same_verification(
    verifying: Any,
) -> None:
    async with verifying() as verify:
        headers = {**verify.api.auth(), "Idempotency-Key": "login-42"}
        first, second = [
            await verify.api.client.post("/v1/verifications", json={"to": FR}, headers=headers)
            for _ in range(2)
        ]
        assert (first.status_code, second.status_code) == (201, 201)
        assert first.json() == second.json()
        assert second.headers["idempotent-replayed"] == "true"
        await verify.code()
        assert len(verify.operator.submitted) == 1


async def test_without_verify_the_shard_says_so(verifying: Any) -> None:
    async with verifying() as verify:
        verify.api.engine.verify = None
        problem(await verify.start(), 503, "verify_unavailable")


def test_the_operations_are_documented() -> None:
    document: Any = openapi_document(OPERATIONS)
    assert set(document["paths"]) == {
        "/v1/verifications",
        "/v1/verifications/{verification_id}",
        "/v1/verifications/{verification_id}/check",
    }
    check = document["paths"]["/v1/verifications/{verification_id}/check"]["post"]
    assert check["operationId"] == "checkVerification"
    schemas = document["components"]["schemas"]
    assert schemas["CheckRequest"]["properties"]["code"]["pattern"] == "^[0-9]{4,10}$(?!\\n)"
