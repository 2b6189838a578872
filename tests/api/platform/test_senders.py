"""Sender IDs over HTTP on both backends: a customer asks (v1), the admin
decides (admin API, audited), and an account's policy, set by the admin
API, applies to the customer's HTTP messages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from engine.senders.install import install_senders
from engine.senders.store import MemorySenderStore, RedisSenderStore
from tests.api.harness import Api
from tests.api.test_admin import ADMIN, admin_api, problem
from tests.engine.gateway_harness import CREDIT

FR = "33612345678"
Starter = Callable[[], AbstractAsyncContextManager[Api]]


@asynccontextmanager
async def senders_api(backend: str, redis: Redis | None, namespace: str) -> AsyncIterator[Api]:
    """The admin API with the registry installed as the composition root does."""
    async with admin_api(backend, redis, namespace) as api:
        store = RedisSenderStore(redis, namespace) if redis is not None else MemorySenderStore()
        api.engine.platform.senders = await install_senders(api.engine.gateway, store, redis)
        yield api


@pytest.fixture(params=["memory", "redis"])
def start(request: pytest.FixtureRequest, redis_client: Redis, namespace: str) -> Starter:
    redis = redis_client if request.param == "redis" else None
    return lambda: senders_api(request.param, redis, namespace)


async def listed(api: Api, query: str = "") -> list[tuple[str, str, str]]:
    answer = await api.client.get(f"/admin/sender-ids{query}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return [(s["account"], s["sender"], s["state"]) for s in answer.json()["sender_ids"]]


async def test_a_customer_asks_and_the_admin_approves(start: Starter) -> None:
    async with start() as api:
        body = {"sender": "MyBank", "note": "our brand"}
        answer = await api.client.post("/v1/sender-ids", json=body, headers=api.auth())
        assert answer.status_code == 201, answer.text
        asked = answer.json()
        assert (asked["state"], asked["note"], asked["requested_by"]) == (
            "requested",
            "our brand",
            "api",
        )
        assert asked["decided_at"] is None
        await api.client.post("/v1/sender-ids", json={"sender": "ShopCo"}, headers=api.auth("shop"))
        assert await listed(api, "?state=requested&account=bank") == [
            ("bank", "MyBank", "requested")
        ]

        answer = await api.client.post("/admin/sender-ids/bank/MyBank/approve", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["state"], answer.json()["decided_by"]) == ("approved", "admin-api")
        assert api.engine.platform.senders is not None
        assert api.engine.platform.senders.is_approved("bank", "MyBank")
        assert await listed(api) == [
            ("shop", "ShopCo", "requested"),
            ("bank", "MyBank", "approved"),
        ]

        own = (await api.client.get("/v1/sender-ids", headers=api.auth())).json()
        assert (own["sender_policy"], own["default_sender"]) == ("open", "")
        assert [(s["sender"], s["state"]) for s in own["sender_ids"]] == [("MyBank", "approved")]

        reason = {"reason": "not a registered brand"}
        answer = await api.client.post(
            "/admin/sender-ids/shop/ShopCo/reject", json=reason, headers=ADMIN
        )
        assert (answer.json()["state"], answer.json()["reason"]) == ("rejected", reason["reason"])
        shop = (await api.client.get("/v1/sender-ids", headers=api.auth("shop"))).json()
        assert shop["sender_ids"][0]["reason"] == "not a registered brand"

        actions = [(e.action, e.target) for e in await api.engine.admin.audit.recent(10)]
        assert ("sender_id.approve", "bank") in actions
        assert ("sender_id.reject", "shop") in actions


async def test_the_admin_may_approve_a_sender_nobody_asked_for(start: Starter) -> None:
    async with start() as api:
        answer = await api.client.post("/admin/sender-ids/shop/%2B36000/approve", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert answer.json()["sender"] == "36000"
        answer = await api.client.post("/admin/sender-ids/shop/Shop%20Co/approve", headers=ADMIN)
        assert answer.json()["sender"] == "Shop Co"
        assert sorted(await listed(api, "?account=shop")) == [
            ("shop", "36000", "approved"),
            ("shop", "Shop Co", "approved"),
        ]


async def test_bad_requests_are_told_what_is_wrong_and_change_nothing(start: Starter) -> None:
    async with start() as api:
        bank = api.auth()
        refusal = problem(
            await api.client.post("/v1/sender-ids", json={"sender": "TooLongSender"}, headers=bank),
            422,
            "invalid_sender",
        )
        assert refusal["detail"].startswith("sender: an alphanumeric sender has at most 11")
        problem(
            await api.client.post("/v1/sender-ids", json={"sender": "A", "x": 1}, headers=bank),
            400,
            "invalid_request",
        )
        await api.client.post("/v1/sender-ids", json={"sender": "MyBank"}, headers=bank)
        problem(
            await api.client.post("/v1/sender-ids", json={"sender": "MyBank"}, headers=bank),
            409,
            "sender_requested",
        )
        problem(await api.client.get("/v1/sender-ids"), 401, "unauthorized")

        reject = "/admin/sender-ids/bank/MyBank/reject"
        problem(
            await api.client.post(reject, json={"reason": ""}, headers=ADMIN),
            400,
            "invalid_request",
        )
        problem(
            await api.client.post(reject, json={"reason": "  "}, headers=ADMIN),
            422,
            "reason_required",
        )
        problem(
            await api.client.post(
                "/admin/sender-ids/bank/Other/reject", json={"reason": "no"}, headers=ADMIN
            ),
            404,
            "unknown_sender",
        )
        problem(
            await api.client.post("/admin/sender-ids/nobody/MyBank/approve", headers=ADMIN),
            404,
            "unknown_account",
        )
        problem(
            await api.client.post("/admin/sender-ids/bank/My%2FBank/approve", headers=ADMIN),
            404,
            "not_found",
        )
        problem(
            await api.client.get("/admin/sender-ids?state=maybe", headers=ADMIN),
            400,
            "invalid_request",
        )
        problem(
            await api.client.get("/admin/sender-ids?page=2", headers=ADMIN), 400, "invalid_request"
        )
        problem(
            await api.client.get("/admin/sender-ids?account=x", headers=ADMIN),
            404,
            "unknown_account",
        )
        problem(await api.client.get("/admin/sender-ids", headers=bank), 403, "forbidden")
        assert await listed(api) == [("bank", "MyBank", "requested")]


async def test_the_policy_set_by_the_admin_applies_to_http_messages(start: Starter) -> None:
    async with start() as api:
        account = "/admin/accounts/bank"
        answer = await api.client.patch(account, json={"sender_policy": "rewrite"}, headers=ADMIN)
        refusal = problem(answer, 422, "invalid_account_settings")
        assert "default_sender" in refusal["detail"]
        answer = await api.client.patch(account, json={"default_sender": "Bad/One"}, headers=ADMIN)
        assert "default_sender:" in problem(answer, 422, "invalid_account_settings")["detail"]

        body: dict[str, Any] = {"to": FR, "from": "Unknown", "text": "hello"}
        answer = await api.client.patch(account, json={"sender_policy": "refuse"}, headers=ADMIN)
        assert answer.json()["sender_policy"] == "refuse", answer.text
        answer = await api.client.post("/v1/messages", json=body, headers=api.auth())
        assert problem(answer, 422, "sender_not_approved")["detail"].startswith("sender 'Unknown'")
        balance = (await api.client.get("/v1/balance", headers=api.auth())).json()
        assert (balance["balance"], balance["held"]) == (CREDIT, 0)

        changes = {"sender_policy": "rewrite", "default_sender": "Bank"}
        answer = await api.client.patch(account, json=changes, headers=ADMIN)
        assert (answer.json()["sender_policy"], answer.json()["default_sender"]) == (
            "rewrite",
            "Bank",
        )
        answer = await api.client.post("/v1/messages", json=body, headers=api.auth())
        assert answer.status_code == 202, answer.text
