"""The portal's invoices: the account's own listed, as PDF and CSV (the v1
API's documents); another account's is not found; without a database the
page says so."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from api.console import console_routes, install_console
from engine import Period
from engine.console import ConsoleUsers, MemoryConsoleUserStore
from tests.api.console.conftest import _FAST, PASSWORD, log_in
from tests.api.harness import Api, running_api
from tests.engine.billing.billing_rows import BillingRows
from tests.engine.gateway_harness import account
from tests.services import (  # noqa: F401  (fixtures used by the tests of this module)
    database_url_fixture,
    postgres_database_fixture,
)

_days = itertools.count()
"""Each test bills its own day of 2019: the process's database keeps every
invoice (tests/api/billing bills days of 2020)."""


class Billed:
    def __init__(self, api: Api, ids: dict[str, str]) -> None:
        self.api = api
        self.ids = ids
        """The invoice issued for each account by this test's fixture."""


@pytest.fixture
async def billed(database_url: str) -> AsyncIterator[Billed]:
    """A shard with PostgreSQL and the portal, and an invoice each for bank and shop."""
    connection = await asyncpg.connect(database_url)
    accounts = (account("bank"), account("shop"))
    try:
        async with running_api("memory", database_url=database_url, accounts=accounts) as api:
            users = ConsoleUsers(MemoryConsoleUserStore(), api.engine.logins, _FAST)
            install_console(api.engine, users, b"s" * 32, secure_cookies=False)
            assert api.app is not None
            api.app.router.routes.extend(console_routes())
            await users.add("bank-user", PASSWORD, "customer", account="bank")
            rows = BillingRows(connection)
            start = datetime(2019, 1, 1, tzinfo=UTC) + timedelta(days=next(_days))
            period = Period(start, start + timedelta(days=1))
            invoices = api.engine.billing.invoices
            assert invoices is not None
            ids = {}
            for name in ("bank", "shop"):
                await rows.message(
                    name, f"{name}-{start:%Y%m%d}", accepted_at=start, parts=1, held=1,
                    charged=1_000_000,
                )  # fmt: skip
                ids[name] = (await invoices.issue(name, period, now=datetime.now(UTC))).id
            yield Billed(api, ids)
    finally:
        await connection.close()


async def test_the_accounts_invoices_with_pdf_and_csv(billed: Billed) -> None:
    client = billed.api.client
    await log_in(client, "bank-user", "portal")
    invoice_id, other_id = billed.ids["bank"], billed.ids["shop"]
    page = await client.get("/portal/invoices")
    assert page.status_code == 200
    assert f'data-testid="invoice-{invoice_id}"' in page.text
    assert other_id not in page.text
    pdf = await client.get(f"/portal/invoices/{invoice_id}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    csv = await client.get(f"/portal/invoices/{invoice_id}.csv")
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="{invoice_id}.csv"' in csv.headers["content-disposition"]
    assert "1000000,EUR" in csv.text


async def test_another_accounts_invoice_is_not_found(billed: Billed) -> None:
    client = billed.api.client
    await log_in(client, "bank-user", "portal")
    other_id = billed.ids["shop"]
    for path in (f"{other_id}.pdf", f"{other_id}.csv", "INV-2026-000001.json", "nothing.pdf"):
        answer = await client.get(f"/portal/invoices/{path}")
        assert answer.status_code == 404, path
        assert b"%PDF" not in answer.content


async def test_without_a_database_the_page_says_so(console: Api) -> None:
    await log_in(console.client, "bank-user", "portal")
    page = await console.client.get("/portal/invoices")
    assert page.status_code == 200
    assert 'data-testid="no-invoices-kept"' in page.text
    answer = await console.client.get("/portal/invoices/INV-2026-000001.pdf")
    assert answer.status_code == 404
