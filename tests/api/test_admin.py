"""Admin API: the admin key, accounts, SMPP passwords, API keys and credit."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from engine.config import ApiConfig
from engine.customers.accounts import AccountConfig
from engine.customers.api_keys import key_digest
from smpp import pdu as p
from smpp.aio import CommandFailed, open_session
from smpp.constants import CommandStatus as S
from smpp.errors import SmppError
from tests.api.harness import Api, running_api
from tests.engine.gateway_harness import CREDIT, PRICE, Customer

FR = "33612345678"
ADMIN_KEY = "admin-test-key-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}

AdminStarter = Callable[..., AbstractAsyncContextManager[Api]]


@asynccontextmanager
async def admin_api(
    backend: str = "memory", redis: Redis | None = None, namespace: str = "smsgw", **options: Any
) -> AsyncIterator[Api]:
    """`running_api` with an admin key."""
    api_config = ApiConfig(admin_key_hash=key_digest(ADMIN_KEY))
    async with running_api(backend, redis, namespace, api=api_config, **options) as api:
        yield api


@pytest.fixture(params=["memory", "redis"])
def start(request: pytest.FixtureRequest, redis_client: Redis, namespace: str) -> AdminStarter:
    def start(**options: Any) -> AbstractAsyncContextManager[Api]:
        redis = redis_client if request.param == "redis" else None
        return admin_api(request.param, redis, namespace, **options)

    return start


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with admin_api() as running:
        yield running


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a state the gateway reaches on its own (a bind, a health check)."""
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["code"] == code
    return body


async def send(api: Api, key: str) -> httpx.Response:
    body = {"to": FR, "from": "Bank", "text": "code 1234"}
    return await api.client.post(
        "/v1/messages", json=body, headers={"Authorization": f"Bearer {key}"}
    )


async def bind(api: Api, account: str, password: str) -> None:
    bind = p.BindTransceiver(system_id=account, password=password)
    connection = await open_session("127.0.0.1", api.engine.gateway.ports[0], bind, Customer())
    await connection.unbind()


# -- the admin key ---------------------------------------------------------------------


async def test_no_key_is_401_and_another_key_403(api: Api) -> None:
    problem(await api.client.get("/admin/accounts"), 401, "unauthorized")
    wrong = {"Authorization": "Bearer not-the-admin-key"}
    problem(await api.client.get("/admin/accounts", headers=wrong), 403, "forbidden")
    customer = api.auth("bank")
    problem(await api.client.get("/admin/stats", headers=customer), 403, "forbidden")
    problem(await api.client.put("/admin/routing", json={}, headers=customer), 403, "forbidden")


async def test_without_an_admin_key_configured_nothing_is_admin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SMSGW_ADMIN_KEY", raising=False)
    async with running_api("memory") as api:
        answer = await api.client.get("/admin/accounts", headers=ADMIN)
        problem(answer, 403, "forbidden")


async def test_the_admin_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSGW_ADMIN_KEY", ADMIN_KEY)
    async with running_api("memory") as api:
        answer = await api.client.get("/admin/accounts", headers=ADMIN)
        assert answer.status_code == 200


# -- accounts ----------------------------------------------------------------------------


async def test_list_and_get_accounts(api: Api) -> None:
    body = (await api.client.get("/admin/accounts", headers=ADMIN)).json()
    assert [a["id"] for a in body["accounts"]] == ["bank", "shop"]
    bank = body["accounts"][0]
    assert bank["enabled"] and bank["in_ledger"] and bank["has_password"]
    assert "password_hash" not in bank and "webhook_secret" not in bank
    assert (await api.client.get("/admin/accounts/bank", headers=ADMIN)).json() == bank
    problem(await api.client.get("/admin/accounts/nobody", headers=ADMIN), 404, "unknown_account")
    problem(await api.client.get("/admin/accounts/a%20b", headers=ADMIN), 404, "unknown_account")


async def test_create_an_account_that_binds_tops_up_and_sends(start: AdminStarter) -> None:
    async with start() as api:
        new = {"id": "clinic", "password": "pw123", "groups": ["health"], "priority": "express"}
        answer = await api.client.post("/admin/accounts", json=new, headers=ADMIN)
        assert answer.status_code == 201, answer.text
        created = answer.json()
        assert created["id"] == "clinic" and created["groups"] == ["health"]
        assert created["priority"] == "express" and created["enabled"] and created["in_ledger"]
        await bind(api, "clinic", "pw123")
        key = await api.client.post("/admin/accounts/clinic/api-keys", headers=ADMIN, json={})
        problem(await send(api, key.json()["key"]), 402, "no_credit")
        topup = {"amount": CREDIT, "reason": "first top-up", "reference": "inv-1"}
        adjusted = await api.client.post(
            "/admin/accounts/clinic/balance/adjustments", json=topup, headers=ADMIN
        )
        assert adjusted.status_code == 201 and adjusted.json()["balance"] == CREDIT
        assert (await send(api, key.json()["key"])).status_code == 202
        groups = (await api.client.get("/admin/groups", headers=ADMIN)).json()
        assert groups == {"groups": ["health"]}


async def test_create_refuses_what_it_cannot_take(api: Api) -> None:
    async def create(body: object, **headers: str) -> httpx.Response:
        return await api.client.post("/admin/accounts", json=body, headers={**ADMIN, **headers})

    problem(await create({"id": "bank"}), 409, "account_exists")
    problem(await create({"id": "x" * 16}), 400, "invalid_request")
    problem(await create({"id": "ok\n"}), 400, "invalid_request")
    problem(await create({"id": "ok", "password": "123456789"}), 400, "invalid_request")
    problem(await create({"id": "ok", "colour": "blue"}), 400, "invalid_request")
    problem(await create({"id": "ok", "credit_limit": -1}), 400, "invalid_request")
    problem(await create({"id": "ok", "webhook_url": "ftp://x"}), 422, "invalid_webhook_url")
    problem(await create(["ok"]), 400, "invalid_request")
    answer = await api.client.post(
        "/admin/accounts", content=b"id=ok", headers={**ADMIN, "content-type": "text/plain"}
    )
    problem(answer, 415, "unsupported_media_type")
    ids = [
        a["id"] for a in (await api.client.get("/admin/accounts", headers=ADMIN)).json()["accounts"]
    ]
    assert ids == ["bank", "shop"]


async def test_patch_limits_and_settings(start: AdminStarter) -> None:
    async with start() as api:
        changes = {"credit_limit": 5 * PRICE, "groups": ["banks", "eu"], "max_binds": 1}
        answer = await api.client.patch("/admin/accounts/bank", json=changes, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        view = answer.json()
        assert (view["credit_limit"], view["groups"], view["max_binds"]) == (
            5 * PRICE,
            ["banks", "eu"],
            1,
        )
        balance = await api.engine.balance("bank")
        assert balance is not None and balance.credit_limit == 5 * PRICE
        assert api.engine.gateway.accounts["bank"].groups == ("banks", "eu")
        problem(
            await api.client.patch("/admin/accounts/nobody", json={}, headers=ADMIN),
            404,
            "unknown_account",
        )
        problem(
            await api.client.patch("/admin/accounts/bank", json={"window": 0}, headers=ADMIN),
            400,
            "invalid_request",
        )


async def test_a_disabled_account_is_refused_until_enabled(start: AdminStarter) -> None:
    async with start() as api:
        bound = await Customer().bind(api.engine.gateway, "bank")
        disable = await api.client.patch(
            "/admin/accounts/bank", json={"enabled": False}, headers=ADMIN
        )
        assert disable.status_code == 200 and disable.json()["enabled"] is False
        problem(await send(api, api.keys["bank"]), 403, "account_disabled")
        with pytest.raises(CommandFailed) as refused:
            await Customer().bind(api.engine.gateway, "bank")
        assert refused.value.response.command_status == S.ESME_RBINDFAIL
        await asyncio.wait_for(bound.wait_closed(), 5)  # its live bind was unbound
        assert (await send(api, api.keys["shop"])).status_code == 202
        enable = await api.client.patch(
            "/admin/accounts/bank", json={"enabled": True}, headers=ADMIN
        )
        assert enable.json()["enabled"] is True
        assert (await send(api, api.keys["bank"])).status_code == 202


# -- SMPP password ------------------------------------------------------------------------


async def test_smpp_password_generated_is_shown_once_and_binds(api: Api) -> None:
    answer = await api.client.put("/admin/accounts/shop/smpp-password", json={}, headers=ADMIN)
    assert answer.status_code == 200
    password = answer.json()["password"]
    assert len(password) == 8 and password.isalnum()
    await bind(api, "shop", password)
    with pytest.raises(SmppError):
        await bind(api, "shop", "secret")
    chosen = await api.client.put(
        "/admin/accounts/shop/smpp-password", json={"password": "n3w"}, headers=ADMIN
    )
    assert chosen.json() == {"account": "shop"}
    await bind(api, "shop", "n3w")


async def test_smpp_password_errors(api: Api) -> None:
    path = "/admin/accounts/shop/smpp-password"
    too_long = {"password": "123456789"}
    problem(await api.client.put(path, json=too_long, headers=ADMIN), 400, "invalid_request")
    problem(
        await api.client.put("/admin/accounts/x/smpp-password", json={}, headers=ADMIN),
        404,
        "unknown_account",
    )


# -- API keys ----------------------------------------------------------------------------------


async def test_api_keys_issue_list_revoke(start: AdminStarter) -> None:
    async with start() as api:
        path = "/admin/accounts/shop/api-keys"
        issued = await api.client.post(path, json={"label": "crm"}, headers=ADMIN)
        assert issued.status_code == 201
        key, key_id = issued.json()["key"], issued.json()["key_id"]
        auth = {"Authorization": f"Bearer {key}"}
        assert (await api.client.get("/v1/balance", headers=auth)).status_code == 200
        listed = (await api.client.get(path, headers=ADMIN)).json()["api_keys"]
        assert {k["label"] for k in listed} == {"test", "crm"}
        assert all(set(k) == {"key_id", "label", "created_at", "revoked_at"} for k in listed)
        assert all(
            re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", k["created_at"]) for k in listed
        )
        assert key not in str(listed)
        revoked = await api.client.delete(f"{path}/{key_id}", headers=ADMIN)
        assert revoked.status_code == 204
        problem(await api.client.get("/v1/balance", headers=auth), 401, "unauthorized")
        problem(await api.client.delete(f"{path}/{key_id}", headers=ADMIN), 404, "unknown_key")
        listed = (await api.client.get(path, headers=ADMIN)).json()["api_keys"]
        assert [k["revoked_at"] is not None for k in listed if k["key_id"] == key_id] == [True]
        bank_keys = "/admin/accounts/bank/api-keys"
        problem(await api.client.delete(f"{bank_keys}/{key_id}", headers=ADMIN), 404, "unknown_key")
        problem(
            await api.client.post("/admin/accounts/x/api-keys", json={}, headers=ADMIN),
            404,
            "unknown_account",
        )
        problem(
            await api.client.post(path, json={"label": "\n"}, headers=ADMIN), 400, "invalid_request"
        )


# -- credit ------------------------------------------------------------------------------------


async def test_top_up_then_balance_and_idempotent_reference(start: AdminStarter) -> None:
    async with start() as api:
        path = "/admin/accounts/shop/balance/adjustments"
        topup = {"amount": 2_500_000, "reason": "bank transfer", "reference": "tx-77"}
        first = await api.client.post(path, json=topup, headers=ADMIN)
        assert first.status_code == 201
        assert first.json() == {
            "reference": "tx-77",
            "outcome": "ok",
            "balance": CREDIT + 2_500_000,
            "held": 0,
            "currency": "EUR",
        }
        again = await api.client.post(path, json=topup, headers=ADMIN)
        assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
        balance = (await api.client.get("/admin/accounts/shop/balance", headers=ADMIN)).json()
        assert balance["balance"] == balance["available"] == CREDIT + 2_500_000
        debit = {"amount": -500_000, "reason": "refund reversal", "reference": "tx-78"}
        assert (await api.client.post(path, json=debit, headers=ADMIN)).json()["balance"] == (
            CREDIT + 2_000_000
        )
        too_much = {"amount": -10 * CREDIT, "reason": "oops", "reference": "tx-79"}
        problem(await api.client.post(path, json=too_much, headers=ADMIN), 409, "no_credit")


async def test_adjustment_errors(api: Api) -> None:
    path = "/admin/accounts/shop/balance/adjustments"
    for body in (
        {"amount": 0, "reason": "nothing", "reference": "r"},
        {"amount": 1, "reason": "", "reference": "r"},
        {"amount": 1, "reason": "x", "reference": "with space"},
        {"amount": 1.5, "reason": "x", "reference": "r"},
        {"amount": 1, "reason": "x"},
    ):
        problem(await api.client.post(path, json=body, headers=ADMIN), 400, "invalid_request")
    unknown = "/admin/accounts/x/balance/adjustments"
    body = {"amount": 1, "reason": "x", "reference": "r"}
    problem(await api.client.post(unknown, json=body, headers=ADMIN), 404, "unknown_account")
    problem(
        await api.client.get("/admin/accounts/x/balance", headers=ADMIN), 404, "unknown_account"
    )


async def test_an_account_the_ledger_does_not_know(api: Api) -> None:
    """Only in a config the ledger never saw (another namespace, a wiped Redis)."""
    api.engine.gateway.accounts["ghost"] = AccountConfig(id="ghost", password_hash="")
    view = (await api.client.get("/admin/accounts/ghost", headers=ADMIN)).json()
    assert (view["in_ledger"], view["enabled"], view["has_password"]) == (False, False, False)
    problem(
        await api.client.get("/admin/accounts/ghost/balance", headers=ADMIN), 404, "unknown_account"
    )
    body = {"amount": 1, "reason": "x", "reference": "r"}
    answer = await api.client.post(
        "/admin/accounts/ghost/balance/adjustments", json=body, headers=ADMIN
    )
    problem(answer, 404, "unknown_account")
