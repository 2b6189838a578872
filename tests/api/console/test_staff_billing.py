"""The staff's invoices and exchange rates (/console/invoices, /console/rates):
the calls of the admin billing API, on PostgreSQL for invoices."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import pytest
from argon2 import PasswordHasher

from api.console import console_routes, install_console
from engine.console import ConsoleUsers, MemoryConsoleUserStore
from engine.customers.login_guard import SecurityConfig
from tests.api.console.conftest import PASSWORD, csrf_in, log_in
from tests.api.harness import Api, running_api
from tests.engine.billing.billing_rows import BillingRows
from tests.engine.gateway_harness import account
from tests.services import (  # noqa: F401  (fixtures used by the tests of this module)
    database_url_fixture,
    postgres_database_fixture,
)

_months = itertools.count(1)
"""Each test bills its own month of 2019: the process's database keeps every invoice."""


@pytest.fixture
async def billing_console(database_url: str) -> AsyncIterator[tuple[Api, BillingRows]]:
    """The console on a shard with PostgreSQL billing."""
    security = SecurityConfig(login_delay=0.0)
    accounts = (account("bank", tax_rate=2000), account("shop"))
    connection = await asyncpg.connect(database_url)
    async with running_api(
        "memory", database_url=database_url, accounts=accounts, security=security
    ) as api:
        hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        users = ConsoleUsers(MemoryConsoleUserStore(), api.engine.logins, hasher)
        install_console(api.engine, users, b"s" * 32, secure_cookies=False)
        assert api.app is not None
        api.app.router.routes.extend(console_routes())
        await users.add("root", PASSWORD, "admin")
        await users.add("helpdesk", PASSWORD, "support")
        yield api, BillingRows(connection)
    await connection.close()


async def test_issue_download_and_credit_an_invoice(
    billing_console: tuple[Api, BillingRows],
) -> None:
    api, rows = billing_console
    month = f"2019-{next(_months):02d}"
    start = datetime.fromisoformat(f"{month}-05T10:00:00+00:00")
    await rows.message(
        "bank", f"bank-{month}", accepted_at=start, parts=1, held=1, charged=1_000_000
    )
    client = api.client
    await log_in(client, "root")
    page = await client.get("/console/invoices")
    assert page.status_code == 200 and 'data-testid="issue-invoice"' in page.text
    csrf = csrf_in(page)

    bad = await client.post(
        "/console/invoices", data={"account": "ghost", "month": "May", "csrf": csrf}
    )
    assert bad.status_code == 400
    assert 'data-testid="error-account"' in bad.text and 'data-testid="error-month"' in bad.text

    issued = await client.post(
        "/console/invoices", data={"account": "bank", "month": month, "csrf": csrf}
    )
    assert issued.status_code == 303, issued.text
    location = issued.headers["location"]
    invoice_id = location.rsplit("/", 1)[1]
    assert re.fullmatch(r"INV-[0-9]{4}-[0-9]+", invoice_id)
    shown = await client.get(location)
    assert 'data-testid="invoice-total">1.20 EUR' in shown.text  # 20 % tax
    listed = await client.get("/console/invoices", params={"account": "bank"})
    assert f'data-testid="invoice-{invoice_id}"' in listed.text

    again = await client.post(
        "/console/invoices", data={"account": "bank", "month": month, "csrf": csrf}
    )
    assert again.status_code == 409 and 'data-testid="error-account"' in again.text

    pdf = await client.get(f"/console/invoices/{invoice_id}.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    csv = await client.get(f"/console/invoices/{invoice_id}.csv")
    assert csv.headers["content-type"].startswith("text/csv") and "1200000" in csv.text

    credit = f"/console/invoices/{invoice_id}/credit-notes"
    too_much = await client.post(credit, data={"amount": "5", "reason": "goodwill", "csrf": csrf})
    assert too_much.status_code == 409 and 'data-testid="error-amount"' in too_much.text
    no_reason = await client.post(credit, data={"amount": "0.20", "reason": "", "csrf": csrf})
    assert no_reason.status_code == 400 and 'data-testid="error-reason"' in no_reason.text
    noted = await client.post(credit, data={"amount": "0.20", "reason": "goodwill", "csrf": csrf})
    assert noted.status_code == 303 and "/console/invoices/CN-" in noted.headers["location"]
    note = await client.get(noted.headers["location"])
    assert 'data-testid="invoice-total">0.20 EUR' in note.text and invoice_id in note.text


async def test_support_reads_invoices_but_may_not_issue(
    billing_console: tuple[Api, BillingRows],
) -> None:
    api, _ = billing_console
    await log_in(api.client, "helpdesk")
    page = await api.client.get("/console/invoices")
    assert page.status_code == 200 and 'data-testid="issue-invoice"' not in page.text
    refused = await api.client.post(
        "/console/invoices", data={"account": "bank", "month": "2019-01", "csrf": csrf_in(page)}
    )
    assert refused.status_code == 403


async def test_without_a_database_invoices_say_so(console: Api) -> None:
    await log_in(console.client, "root")
    page = await console.client.get("/console/invoices")
    assert page.status_code == 200 and 'data-testid="no-database"' in page.text
    assert await console.client.get("/console/invoices/INV-2026-000001") is not None


async def test_add_a_rate_and_see_field_errors(console: Api) -> None:
    client = console.client
    await log_in(client, "root")
    csrf = csrf_in(await client.get("/console/rates"))
    good = {"base": "usd", "quote": "EUR", "rate": "0.92", "valid_from": "2026-01-01T00:00"}
    added = await client.post("/console/rates", data={**good, "csrf": csrf})
    assert added.status_code == 303
    page = await client.get("/console/rates")
    assert 'data-testid="rate-USD-EUR"' in page.text and "0.92" in page.text
    records = console.engine.billing.rates.records()
    assert [(r.base, r.quote, r.rate) for r in records] == [("USD", "EUR", "0.92")]

    for field, value in (
        ("base", "dollars"),
        ("rate", "-1"),
        ("valid_from", "soon"),
        ("quote", "USD"),
    ):
        answer = await client.post("/console/rates", data={**good, field: value, "csrf": csrf})
        assert answer.status_code == 400, field
        assert f'data-testid="error-{field}"' in answer.text, field
    conflict = await client.post("/console/rates", data={**good, "rate": "0.93", "csrf": csrf})
    assert conflict.status_code == 409 and 'data-testid="error-rate"' in conflict.text


async def test_import_rates_all_or_none_with_issues_by_line(console: Api) -> None:
    client = console.client
    await log_in(client, "root")
    csrf = csrf_in(await client.get("/console/rates"))
    bad = "base,quote,rate,valid_from\nGBP,EUR,1.17,2026-01-01\nGBP,EUR,lots,2026-02-01\n"
    refused = await client.post(
        "/console/rates/import", data={"csrf": csrf}, files={"file": ("r.csv", bad, "text/csv")}
    )
    assert refused.status_code == 400
    assert "line 3: rate:" in refused.text and not console.engine.billing.rates.records()
    good = "base,quote,rate,valid_from\nGBP,EUR,1.17,2026-01-01\nCHF,EUR,1.05,2026-01-01\n"
    imported = await client.post("/console/rates/import", data={"csrf": csrf, "csv": good})
    assert imported.status_code == 303
    assert {(r.base, r.rate) for r in console.engine.billing.rates.records()} == {
        ("GBP", "1.17"),
        ("CHF", "1.05"),
    }


async def test_support_may_not_add_rates(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/rates")
    assert page.status_code == 200 and 'data-testid="add-rate"' not in page.text
    answer = await console.client.post(
        "/console/rates", data={"csrf": csrf_in(page), "base": "USD"}
    )
    assert answer.status_code == 403
