"""The reseller API v1 on both backends: a reseller sees, creates, credits
and prices only its own sub-accounts; anyone else gets 403 or 404."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from engine import Resellers
from engine.billing.periods import month
from engine.resellers.margins import MarginSettlement
from ledger.model import AccountLimits
from tests.api.harness import Api, running_api
from tests.api.test_admin import ADMIN, admin_api
from tests.engine.gateway_harness import CREDIT, account
from tests.engine.resellers.test_margins import Traffic
from tests.services import (  # noqa: F401  (fixtures used by the tests of this module)
    database_url_fixture,
    postgres_database_fixture,
)

Starter = Callable[[], AbstractAsyncContextManager[Api]]
ACCOUNTS = (
    account("agency", reseller=True),
    account("shop", parent="agency", markup=2500),
    account("rival", reseller=True),
    account("rivalshop", parent="rival"),
    account("bank"),
)


@asynccontextmanager
async def resellers_api(backend: str, redis: Redis | None, namespace: str) -> AsyncIterator[Api]:
    async with running_api(backend, redis, namespace, accounts=ACCOUNTS) as api:
        api.engine.platform.resellers = Resellers(api.engine.admin)
        yield api


@pytest.fixture(params=["memory", "redis"])
def start(request: pytest.FixtureRequest, redis_client: Redis, namespace: str) -> Starter:
    redis = redis_client if request.param == "redis" else None
    return lambda: resellers_api(request.param, redis, namespace)


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["code"] == code
    return body


async def listed(api: Api, reseller: str) -> list[str]:
    answer = await api.client.get("/v1/sub-accounts", headers=api.auth(reseller))
    assert answer.status_code == 200, answer.text
    return [sub["id"] for sub in answer.json()["sub_accounts"]]


async def test_a_reseller_sees_only_its_own_sub_accounts(start: Starter) -> None:
    async with start() as api:
        assert await listed(api, "agency") == ["shop"]
        assert await listed(api, "rival") == ["rivalshop"]
        problem(await api.client.get("/v1/sub-accounts", headers=api.auth("bank")), 403,
                "not_reseller")  # fmt: skip
        problem(await api.client.get("/v1/sub-accounts", headers=api.auth("shop")), 403,
                "not_reseller")  # fmt: skip
        one = await api.client.get("/v1/sub-accounts/shop", headers=api.auth("agency"))
        assert one.json() == {
            "id": "shop", "currency": "EUR", "markup": 2500, "balance": CREDIT, "held": 0,
            "credit_limit": 0, "enabled": True,
        }  # fmt: skip
        for reseller, other in (("rival", "shop"), ("agency", "rivalshop"), ("agency", "bank")):
            path = f"/v1/sub-accounts/{other}"
            problem(await api.client.get(path, headers=api.auth(reseller)), 404,
                    "sub_account_not_found")  # fmt: skip


async def test_a_reseller_creates_a_sub_account_in_its_currency(start: Starter) -> None:
    async with start() as api:
        answer = await api.client.post(
            "/v1/sub-accounts", json={"id": "kiosk", "markup": 1000}, headers=api.auth("agency")
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["markup"] == 1000 and answer.json()["balance"] == 0
        assert await listed(api, "agency") == ["kiosk", "shop"]
        assert await listed(api, "rival") == ["rivalshop"]
        assert api.engine.gateway.accounts["kiosk"].parent == "agency"
        taken = await api.client.post(
            "/v1/sub-accounts", json={"id": "bank"}, headers=api.auth("agency")
        )
        problem(taken, 409, "account_exists")
        bad = await api.client.post(
            "/v1/sub-accounts", json={"id": "no spaces"}, headers=api.auth("agency")
        )
        assert "id" in problem(bad, 400, "invalid_request")["detail"]
        bad = await api.client.post(
            "/v1/sub-accounts", json={"id": "k2", "markup": -1}, headers=api.auth("agency")
        )
        assert "markup" in problem(bad, 400, "invalid_request")["detail"]


async def test_credit_moves_down_once_per_reference_within_the_resellers_credit(
    start: Starter,
) -> None:
    async with start() as api:
        path = "/v1/sub-accounts/shop/credit"
        answer = await api.client.post(
            path, json={"amount": 1_000, "reference": "t-1"}, headers=api.auth("agency")
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["transfer"]["outcome"] == "ok"
        assert answer.json()["sub_account"]["balance"] == CREDIT + 1_000
        again = await api.client.post(
            path, json={"amount": 1_000, "reference": "t-1"}, headers=api.auth("agency")
        )
        assert again.json()["transfer"]["outcome"] == "duplicate"
        assert again.json()["sub_account"]["balance"] == CREDIT + 1_000
        ledger = api.engine.gateway.ledger
        agency = await ledger.get_account("agency")
        assert agency is not None and agency.balance == CREDIT - 1_000
        up = await api.client.post(
            path, json={"amount": -500, "reference": "t-2"}, headers=api.auth("agency")
        )
        assert up.json()["sub_account"]["balance"] == CREDIT + 500
        too_much = await api.client.post(
            path, json={"amount": CREDIT, "reference": "t-3"}, headers=api.auth("agency")
        )
        problem(too_much, 402, "no_credit")
        zero = await api.client.post(
            path, json={"amount": 0, "reference": "t-4"}, headers=api.auth("agency")
        )
        assert "amount" in problem(zero, 400, "invalid_request")["detail"]
        theirs = await api.client.post(
            path, json={"amount": 1, "reference": "t-5"}, headers=api.auth("rival")
        )
        problem(theirs, 404, "sub_account_not_found")
        shop = await ledger.get_account("shop")
        assert shop is not None and shop.balance == CREDIT + 500


async def test_a_reseller_sets_the_markup_of_its_own_sub_accounts(start: Starter) -> None:
    async with start() as api:
        answer = await api.client.patch(
            "/v1/sub-accounts/shop", json={"markup": 4000}, headers=api.auth("agency")
        )
        assert answer.status_code == 200, answer.text
        assert api.engine.gateway.accounts["shop"].markup == 4000
        theirs = await api.client.patch(
            "/v1/sub-accounts/shop", json={"markup": 0}, headers=api.auth("rival")
        )
        problem(theirs, 404, "sub_account_not_found")
        bad = await api.client.patch(
            "/v1/sub-accounts/shop", json={"markup": "high"}, headers=api.auth("agency")
        )
        assert "markup" in problem(bad, 400, "invalid_request")["detail"]
        assert api.engine.gateway.accounts["shop"].markup == 4000
        entries = [e for e in await api.engine.admin.audit.recent(50) if e.target == "shop"]
        assert any(entry.action == "account.update" for entry in entries)


async def test_the_admin_api_creates_a_sub_account_under_a_reseller() -> None:
    async with admin_api(accounts=ACCOUNTS) as api:
        answer = await api.client.post(
            "/admin/accounts", json={"id": "cafe", "parent": "agency", "markup": 500}, headers=ADMIN
        )
        assert answer.status_code == 201, answer.text
        assert (answer.json()["parent"], answer.json()["markup"]) == ("agency", 500)
        chain = await api.client.post(
            "/admin/accounts", json={"id": "deep", "parent": "shop"}, headers=ADMIN
        )
        assert problem(chain, 409, "parent_not_reseller")["detail"].startswith("parent:")


async def test_the_admin_api_settles_the_margins_of_a_month_once(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await Traffic(connection).message(
            "shop", day=3, parts=2, price=50_000, listed=40_000, charged=100_000
        )
    finally:
        await connection.close()
    async with admin_api(accounts=ACCOUNTS) as api:
        ledger = api.engine.gateway.ledger
        margins = MarginSettlement(database_url, ledger)
        api.engine.platform.resellers = Resellers(api.engine.admin, margins)
        try:
            body = {"month": "2026-11"}
            answer = await api.client.post("/admin/resellers/margins", json=body, headers=ADMIN)
            assert answer.status_code == 200, answer.text
            lines = {line["reseller"]: line for line in answer.json()["margins"]}
            assert (lines["agency"]["outcome"], lines["agency"]["amount"]) == ("credited", 20_000)
            assert lines["rival"]["outcome"] == "nothing"
            again = await api.client.post("/admin/resellers/margins", json=body, headers=ADMIN)
            assert again.json()["margins"][0]["outcome"] == "already_credited"
            agency = await ledger.get_account("agency")
            assert agency is not None and agency.balance == CREDIT + 20_000
            bad = await api.client.post(
                "/admin/resellers/margins", json={"month": "2026-13"}, headers=ADMIN
            )
            assert "month" in problem(bad, 400, "invalid_request")["detail"]
        finally:
            await margins.close()


async def test_credit_moved_back_up_is_the_sub_accounts_own_balance(start: Starter) -> None:
    async with start() as api:
        ledger = api.engine.gateway.ledger
        await ledger.set_account("shop", AccountLimits(credit_limit=5_000))
        path = "/v1/sub-accounts/shop/credit"
        up = await api.client.post(
            path, json={"amount": -(CREDIT + 1), "reference": "t-up"}, headers=api.auth("agency")
        )
        problem(up, 402, "insufficient_balance")
        shop = await ledger.get_account("shop")
        assert shop is not None and shop.balance == CREDIT


async def test_margins_wait_for_the_persister(database_url: str) -> None:
    async def lagging() -> datetime:
        return month("2026-11").end - timedelta(seconds=1)

    async with admin_api(accounts=ACCOUNTS) as api:
        ledger = api.engine.gateway.ledger
        margins = MarginSettlement(database_url, ledger, lagging)
        api.engine.platform.resellers = Resellers(api.engine.admin, margins)
        try:
            body = {"month": "2026-11"}
            answer = await api.client.post("/admin/resellers/margins", json=body, headers=ADMIN)
            assert answer.status_code == 200, answer.text
            assert {line["outcome"] for line in answer.json()["margins"]} == {"not_persisted"}
            agency = await ledger.get_account("agency")
            assert agency is not None and agency.balance == CREDIT
        finally:
            await margins.close()


async def test_an_admin_adjustment_cannot_take_a_transfer_reference() -> None:
    async with admin_api(accounts=ACCOUNTS) as api:
        body = {"amount": 1_000, "reason": "forged", "reference": "xfer:t-1:0123456789abcdef:in"}
        answer = await api.client.post(
            "/admin/accounts/shop/balance/adjustments", json=body, headers=ADMIN
        )
        problem(answer, 422, "reserved_reference")
