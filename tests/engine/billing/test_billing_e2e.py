"""Billing end to end on the real Redis and PostgreSQL: two accounts in two
currencies send over HTTP, receipts come back from the simulated operator, the
persister drains the events, the period's invoices are issued, and every
total agrees with the CDRs and the ledger to the micro-unit."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from redis.asyncio import Redis

from engine.billing.cdrs import Cdrs
from engine.billing.invoice_model import Invoice
from engine.billing.invoice_refusals import NotFinal
from engine.billing.periods import Period
from engine.billing.rates import ExchangeRate
from engine.billing.reconcile import reconcile
from engine.config import ApiConfig
from engine.customers.api_keys import key_digest
from ledger.config import LedgerConfig
from ledger.persister import Persister
from ledger.pgstore import EventStore
from tests.api.harness import running_api
from tests.engine.gateway_harness import PRICE, account
from tests.services import (  # noqa: F401  (fixtures)
    database_url_fixture,
    postgres_database_fixture,
)

ADMIN_KEY = "billing-admin-key-0123456789"
RATE = "12850.5"
"""UZS per EUR: the harness's tariff is in EUR."""
SENT = {"eurobank": 7, "tashbank": 5}
WAIT = 30.0


async def test_two_currencies_invoiced_agree_with_cdrs_and_ledger(
    redis_client: Redis, namespace: str, database_url: str
) -> None:
    accounts = (
        account("eurobank", tax_name="VAT", tax_rate=2000),
        account("tashbank", currency="UZS", tax_name="QQS", tax_rate=1200, discount=500),
    )
    async with running_api(
        "redis", redis_client, namespace, database_url=database_url, accounts=accounts,
        credit_accounts=False, api=ApiConfig(admin_key_hash=key_digest(ADMIN_KEY)),
    ) as api:  # fmt: skip
        for name in SENT:  # top-ups as finance enters them: ledger entry and payment
            answer = await api.client.post(
                f"/admin/accounts/{name}/balance/adjustments",
                json={"amount": 10**12, "reason": "wire", "reference": f"wire-{name}",
                      "method": "bank_transfer"},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            )  # fmt: skip
            assert answer.status_code == 201, answer.text
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
        added = await api.engine.admin.add_rates(
            [ExchangeRate(base="EUR", quote="UZS", rate=RATE, valid_from=start - timedelta(days=1))]
        )
        assert added == 1
        ids: dict[str, list[str]] = {name: [] for name in SENT}
        for name, count in SENT.items():
            for n in range(count):
                answer = await api.client.post(
                    "/v1/messages",
                    json={"to": f"+3361234{n:04d}", "from": "BANK", "text": "Your code 1"},
                    headers=api.auth(name),
                )
                assert answer.status_code == 202, answer.text
                ids[name] += [m["id"] for m in answer.json()["messages"]]
        period = Period(start, datetime.now(UTC) + timedelta(seconds=1))
        invoices = api.engine.billing.invoices
        assert invoices is not None
        store = EventStore(database_url)
        persister = Persister(redis_client, store, LedgerConfig(namespace=namespace))
        issued: dict[str, Invoice] = {}
        try:
            async with asyncio.timeout(WAIT):
                while len(issued) < len(SENT):  # until every receipt is in PostgreSQL
                    await persister.drain()
                    for name in SENT.keys() - issued.keys():
                        with contextlib.suppress(NotFinal):
                            after = period.end + timedelta(seconds=1)
                            issued[name] = await invoices.issue(name, period, now=after)
                    await asyncio.sleep(0.1)
        finally:
            await store.close()
        tash_price = round(Fraction(PRICE * 9_500, 10_000) * Fraction(RATE))  # 5% off, the rate
        assert issued["tashbank"].currency == "UZS"
        assert issued["tashbank"].document.usage_amount == SENT["tashbank"] * tash_price
        assert issued["eurobank"].currency == "EUR"
        assert issued["eurobank"].document.usage_amount == SENT["eurobank"] * PRICE
        for invoice in issued.values():
            rate = 2000 if invoice.account == "eurobank" else 1200
            assert invoice.tax == round(Fraction(invoice.subtotal * rate, 10_000))
            assert invoice.total == invoice.subtotal + invoice.tax

        cdrs = Cdrs(database_url)
        try:
            for name, invoice in issued.items():
                lines = [
                    json.loads(line)
                    async for chunk in cdrs.stream(period, "jsonl", account=name)
                    for line in chunk.splitlines()
                ]
                assert sorted({line["message_id"] for line in lines}) == sorted(ids[name])
                assert sum(line["charged"] for line in lines) == invoice.document.usage_amount
                assert {line["currency"] for line in lines} == {invoice.currency}
                assert {line["list_currency"] for line in lines} == {"EUR"}
                if name == "tashbank":
                    assert {line["exchange_rate"] for line in lines} == {RATE}
        finally:
            await cdrs.close()
        report = await reconcile(database_url, period)
        assert report.ok, report.lines()
