"""The fraud guard over HTTP on both backends: a pumped range refused to the
HTTP sender with its code and reason, the admin's review and lift of the
block, and an account's geo list and limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from api.app import one_route_per_path
from api.protection import fraud
from engine.fraud.guard import FraudGuard
from engine.fraud.install import install_fraud_guard
from engine.fraud.memory_store import MemoryFraudStore
from engine.fraud.redis_store import RedisFraudStore
from engine.fraud.settings import FraudConfig, FraudLimits
from tests.api.harness import Api
from tests.api.test_admin import ADMIN, admin_api, problem
from tests.engine.gateway_harness import PRICE

PREMIUM = "3389912"
FR = "33612345678"
LIMITS = FraudLimits(
    per_number_per_hour=0, per_prefix_per_hour=0, spike_factor=5.0, spike_floor=3,
    conversion_min_ratio=0.0,
)  # fmt: skip

Starter = Callable[[], AbstractAsyncContextManager[Api]]


@asynccontextmanager
async def fraud_api(backend: str, redis: Redis | None, namespace: str) -> AsyncIterator[Api]:
    """The admin API with the guard installed and its routes in front, as the
    composition root will (``Engine.protection.fraud``)."""
    async with admin_api(backend, redis, namespace, credit=100 * PRICE) as api:
        gateway = api.engine.gateway
        store = MemoryFraudStore() if redis is None else RedisFraudStore(redis, namespace, "t1")
        guard = install_fraud_guard(gateway, store, FraudConfig(limits=LIMITS))
        await guard.start()
        api.engine.protection.fraud = guard
        assert api.app is not None
        api.app.router.routes[:0] = one_route_per_path(fraud.routes)
        try:
            yield api
        finally:
            await guard.stop()


@pytest.fixture(params=["memory", "redis"])
def start(request: pytest.FixtureRequest, redis_client: Redis, namespace: str) -> Starter:
    redis = redis_client if request.param == "redis" else None
    return lambda: fraud_api(request.param, redis, namespace)


def guard_of(api: Api) -> FraudGuard:
    guard = api.engine.protection.fraud
    assert guard is not None
    return guard


async def send(api: Api, to: str) -> httpx.Response:
    body = {"to": to, "from": "Bank", "text": "Your code is 123456", "priority": "otp"}
    return await api.client.post("/v1/messages", json=body, headers=api.auth("bank"))


async def test_a_pumped_range_is_refused_reviewed_and_lifted(start: Starter) -> None:
    async with start() as api:
        for n in range(3):
            assert (await send(api, f"{PREMIUM}{n:04}")).status_code == 202
        refused = problem(await send(api, f"{PREMIUM}0003"), 422, "blocked_spike")
        assert refused["detail"].startswith(f"spike: 3 messages to prefix {PREMIUM}")
        assert (await send(api, FR)).status_code == 202

        await guard_of(api).flush()
        listed = await api.client.get("/admin/fraud/blocks", headers=ADMIN)
        assert listed.status_code == 200, listed.text
        [block] = listed.json()["blocks"]
        assert block | {"reason": "", "since": "", "until": ""} == {
            "account": "bank",
            "prefix": PREMIUM,
            "rule": "spike",
            "code": "blocked_spike",
            "reason": "",
            "since": "",
            "until": "",
            "shard": "t1",
        }
        assert block["reason"].startswith("spike: 3 messages") and block["since"].endswith("Z")
        none = await api.client.get("/admin/fraud/blocks?account=shop", headers=ADMIN)
        assert none.json() == {"blocks": [], "allowances": []}

        lifted = await api.client.delete(
            f"/admin/fraud/blocks/bank/{PREMIUM}?allow_for=600", headers=ADMIN
        )
        assert lifted.status_code == 200, lifted.text
        assert lifted.json()["lifted"]["rule"] == "spike" and lifted.json()["allowed_until"]
        assert (await send(api, f"{PREMIUM}0003")).status_code == 202
        listed = await api.client.get("/admin/fraud/blocks", headers=ADMIN)
        assert listed.json()["blocks"] == []
        [allowance] = listed.json()["allowances"]
        assert allowance["prefix"] == PREMIUM and allowance["lifted"]["rule"] == "spike"


async def test_an_accounts_geo_list_and_limits(start: Starter) -> None:
    async with start() as api:
        path = "/admin/fraud/accounts/bank"
        shown = await api.client.get(path, headers=ADMIN)
        assert shown.json()["source"] == "default" and shown.json()["limits"]["spike_floor"] == 3
        settings = {"countries": ["DE"], "prefixes": ["3361"], "per_number_per_hour": 1}
        put = await api.client.put(path, json=settings, headers=ADMIN)
        assert put.status_code == 200, put.text
        answer: dict[str, Any] = put.json()
        assert answer["source"] == "admin"
        assert answer["settings"]["countries"] == ["DE"]
        assert answer["limits"]["per_number_per_hour"] == 1
        assert answer["limits"]["spike_floor"] == 3  # the shard's default
        assert (await api.client.get(path, headers=ADMIN)).json() == answer

        assert (await send(api, FR)).status_code == 202  # 3361...: an allowed prefix
        refused = problem(await send(api, f"{PREMIUM}0001"), 422, "blocked_geo")
        assert refused["detail"] == (
            f"geo: prefix {PREMIUM} (country FR) is outside the account's destinations"
            " (countries DE; prefixes 3361)"
        )
        problem(await send(api, FR), 422, "blocked_velocity")  # one per hour to a number


async def test_the_admin_endpoints_refuse_what_they_cannot_do() -> None:
    async with fraud_api("memory", None, "smsgw") as api:
        bad = await api.client.put(
            "/admin/fraud/accounts/bank", json={"countries": ["ZZ"]}, headers=ADMIN
        )
        detail = problem(bad, 400, "invalid_request")["detail"]
        assert "'ZZ'" in detail and "countries" in detail
        extra = await api.client.put("/admin/fraud/accounts/bank", json={"limit": 3}, headers=ADMIN)
        problem(extra, 400, "invalid_request")
        unknown = await api.client.get("/admin/fraud/accounts/nobody", headers=ADMIN)
        problem(unknown, 404, "unknown_account")
        gone = await api.client.delete(f"/admin/fraud/blocks/bank/{PREMIUM}", headers=ADMIN)
        problem(gone, 404, "unknown_block")
        problem(await api.client.delete("/admin/fraud/blocks/bank/33x", headers=ADMIN), 404,
                "unknown_block")  # fmt: skip
        for allow_for in ("soon", "-5", "nan"):
            wrong = await api.client.delete(
                f"/admin/fraud/blocks/bank/{PREMIUM}?allow_for={allow_for}", headers=ADMIN
            )
            assert "allow_for" in problem(wrong, 400, "invalid_request")["detail"]
        problem(await api.client.get("/admin/fraud/blocks"), 401, "unauthorized")
