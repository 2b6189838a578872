"""The portal's sub-accounts page over HTTP: only a reseller user opens it,
it lists only its own sub-accounts, and every form names its error next to
the field."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.console import console_routes, install_console
from engine import MAX_AMOUNT, Resellers
from engine.console import ConsoleUsers, MemoryConsoleUserStore
from engine.customers.accounts import AccountConfig
from engine.customers.login_guard import SecurityConfig
from tests.api.console.conftest import _FAST, PASSWORD, csrf_in, log_in
from tests.api.harness import Api, running_api
from tests.engine.gateway_harness import CREDIT, account

ACCOUNTS = (
    account("agency", reseller=True),
    account("shop", parent="agency", markup=2500),
    account("rival", reseller=True),
    account("rivalshop", parent="rival"),
    account("bank"),
)


@pytest.fixture
async def portal() -> AsyncIterator[Api]:
    security = SecurityConfig(login_delay=0.0)
    async with running_api("memory", security=security, accounts=ACCOUNTS) as api:
        api.engine.platform.resellers = Resellers(api.engine.admin)
        users = ConsoleUsers(MemoryConsoleUserStore(), api.engine.logins, _FAST)
        install_console(api.engine, users, b"s" * 32, secure_cookies=False)
        assert api.app is not None
        api.app.router.routes.extend(console_routes())
        await users.add("agent", PASSWORD, "reseller", account="agency")
        await users.add("bank-user", PASSWORD, "customer", account="bank")
        yield api


async def agent(api: Api) -> tuple[httpx.AsyncClient, str]:
    client = api.client
    await log_in(client, "agent", "portal")
    listed = await client.get("/portal/sub-accounts")
    assert listed.status_code == 200, listed.text
    return client, csrf_in(listed)


async def test_a_reseller_sees_only_its_own_sub_accounts(portal: Api) -> None:
    client, _ = await agent(portal)
    page = (await client.get("/portal/sub-accounts")).text
    assert 'data-testid="sub-shop"' in page
    assert "rivalshop" not in page and "bank" not in page.split("<main")[-1]


async def test_a_customer_may_not_open_the_page(portal: Api) -> None:
    await log_in(portal.client, "bank-user", "portal")
    assert (await portal.client.get("/portal/sub-accounts")).status_code == 403
    assert 'href="/portal/sub-accounts"' not in (await portal.client.get("/portal")).text


async def test_credit_moves_down_once_and_bad_amounts_are_named(portal: Api) -> None:
    client, csrf = await agent(portal)
    form = {"csrf": csrf, "sub": "shop", "amount": "0.25", "reference": "form-1"}
    moved = await client.post("/portal/sub-accounts/credit", data=form)
    assert moved.status_code == 303, moved.text
    again = await client.post("/portal/sub-accounts/credit", data=form)  # sent twice
    assert again.status_code == 303
    shop = await portal.engine.gateway.ledger.get_account("shop")
    assert shop is not None and shop.balance == CREDIT + 250_000
    bad = await client.post("/portal/sub-accounts/credit", data={**form, "amount": "lots"})
    assert bad.status_code == 400
    assert 'data-testid="error-amount"' in bad.text and 'aria-invalid="true"' in bad.text
    huge = await client.post(
        "/portal/sub-accounts/credit", data={**form, "amount": "1000000", "reference": "f-2"}
    )
    assert huge.status_code == 402 and "too little credit" in huge.text
    theirs = await client.post(
        "/portal/sub-accounts/credit", data={**form, "sub": "rivalshop", "reference": "f-3"}
    )
    assert theirs.status_code == 404 and 'data-testid="error-sub"' in theirs.text
    rival = await portal.engine.gateway.ledger.get_account("rivalshop")
    assert rival is not None and rival.balance == CREDIT


async def test_a_reseller_creates_a_sub_account_and_sets_its_markup(portal: Api) -> None:
    client, csrf = await agent(portal)
    created = await client.post(
        "/portal/sub-accounts", data={"csrf": csrf, "id": "kiosk", "markup": "12.5"}
    )
    assert created.status_code == 303, created.text
    assert portal.engine.gateway.accounts["kiosk"].markup == 1250
    taken = await client.post("/portal/sub-accounts", data={"csrf": csrf, "id": "bank"})
    assert taken.status_code == 409 and 'data-testid="error-id"' in taken.text
    bad = await client.post(
        "/portal/sub-accounts/markup",
        data={"csrf": csrf, "markup_sub": "kiosk", "new_markup": "-1"},
    )
    assert bad.status_code == 400 and 'data-testid="error-new_markup"' in bad.text
    changed = await client.post(
        "/portal/sub-accounts/markup",
        data={"csrf": csrf, "markup_sub": "kiosk", "new_markup": "30"},
    )
    assert changed.status_code == 303
    assert portal.engine.gateway.accounts["kiosk"].markup == 3000
    no_csrf = await client.post("/portal/sub-accounts", data={"id": "x1"})
    assert no_csrf.status_code == 403 and "x1" not in portal.engine.gateway.accounts


async def test_a_transfer_that_moved_nothing_is_named_next_to_the_amount(portal: Api) -> None:
    client, csrf = await agent(portal)
    ledger = portal.engine.gateway.ledger
    # In the configuration but never in the ledger (another namespace, a wiped Redis).
    portal.engine.gateway.accounts["ghost"] = AccountConfig(
        id="ghost", password_hash="", parent="agency"
    )
    form = {"csrf": csrf, "sub": "ghost", "amount": "-0.25", "reference": "g-1"}
    for amount in ("-0.25", "0.25"):
        answer = await client.post("/portal/sub-accounts/credit", data={**form, "amount": amount})
        assert answer.status_code == 409, answer.text
        assert 'data-testid="error-amount"' in answer.text and "does not know" in answer.text
    await ledger.adjust("shop", MAX_AMOUNT - CREDIT, reason="test", reference="fill")
    full = await client.post(
        "/portal/sub-accounts/credit", data={**form, "sub": "shop", "amount": "0.01"}
    )
    assert full.status_code == 409 and 'data-testid="error-amount"' in full.text
    agency = await ledger.get_account("agency")
    assert agency is not None and agency.balance == CREDIT
