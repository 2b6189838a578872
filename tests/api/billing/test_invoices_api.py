"""Invoices over HTTP: an account sees its own (JSON, PDF, CSV), the admin
issues and credits them; refusals are problems naming what to fix."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from engine.config import ApiConfig
from engine.customers.api_keys import key_digest
from tests.api.harness import Api, running_api
from tests.engine.billing.billing_rows import BillingRows
from tests.engine.gateway_harness import account
from tests.services import (  # noqa: F401  (fixtures used by the tests of this module)
    database_url_fixture,
    postgres_database_fixture,
)

ADMIN_KEY = "admin-test-key-invoices-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
_days = itertools.count()
"""Each test bills its own day of 2020: the accounts (bank, shop) are the
harness's, and the process's database keeps every invoice."""


class Billed:
    def __init__(self, api: Api, rows: BillingRows) -> None:
        self.api = api
        self.rows = rows
        start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=next(_days))
        self.start, self.end = start, start + timedelta(days=1)
        self.period = {"start": start.isoformat(), "end": self.end.isoformat()}

    async def charge(self, account: str, n: int, charged: int | None, held: int = 1) -> None:
        await self.rows.message(
            account, f"{account}-{self.start:%Y%m%d}-{n}", accepted_at=self.start,
            parts=1, held=held, charged=charged, state="delivered" if charged else "accepted",
        )  # fmt: skip

    async def issue(self, **body: object) -> dict[str, object]:
        answer = await self.api.client.post("/admin/invoices", json=body, headers=ADMIN)
        assert answer.status_code == 201, answer.text
        invoice: dict[str, object] = answer.json()["issued"][0]
        return invoice


@pytest.fixture
async def billed(database_url: str) -> AsyncIterator[Billed]:
    config = ApiConfig(admin_key_hash=key_digest(ADMIN_KEY))
    connection = await asyncpg.connect(database_url)
    accounts = (account("bank", tax_rate=2000), account("shop", tax_rate=2000))
    async with running_api(
        "memory", api=config, database_url=database_url, accounts=accounts
    ) as api:
        yield Billed(api, BillingRows(connection))
    await connection.close()


async def test_an_account_reads_its_invoice_as_json_pdf_and_csv(billed: Billed) -> None:
    await billed.charge("bank", 1, 1_000_000)
    invoice = await billed.issue(**billed.period, accounts=["bank"])
    assert (invoice["account"], invoice["kind"], invoice["total"]) == ("bank", "invoice", 1_200_000)
    assert invoice["document"]["usage_amount"] == 1_000_000  # type: ignore[index]
    client, bank = billed.api.client, billed.api.auth("bank")
    invoice_id = invoice["id"]

    answer = await client.get(f"/v1/invoices/{invoice_id}", headers=bank)
    assert answer.status_code == 200 and answer.json() == invoice
    for path, accept in ((f"{invoice_id}.pdf", "*/*"), (invoice_id, "application/pdf")):
        pdf = await client.get(f"/v1/invoices/{path}", headers={**bank, "Accept": accept})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
    csv = await client.get(f"/v1/invoices/{invoice_id}.csv", headers=bank)
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="{invoice_id}.csv"' in csv.headers["content-disposition"]
    assert "total,,,,,,,,,1.20,1200000,EUR" in csv.text

    mine = await client.get("/v1/invoices", headers=bank)
    assert invoice in mine.json()["invoices"]
    for path in (invoice_id, f"{invoice_id}.pdf", "INV-1999-000001", "not-an-id"):
        other = await client.get(f"/v1/invoices/{path}", headers=billed.api.auth("shop"))
        assert (other.status_code, other.json()["code"]) == (404, "unknown_invoice")
    assert (await client.get("/v1/invoices")).status_code == 401


async def test_issuing_one_account_answers_its_refusal(billed: Billed) -> None:
    await billed.charge("bank", 1, None)
    client = billed.api.client
    answer = await client.post(
        "/admin/invoices", json={**billed.period, "accounts": ["bank"]}, headers=ADMIN
    )
    assert answer.status_code == 409 and answer.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert (answer.json()["code"], answer.json()["open_messages"]) == ("not_final", 1)

    shop = await billed.issue(**billed.period, accounts=["shop"])
    again = await client.post(
        "/admin/invoices", json={**billed.period, "accounts": ["shop"]}, headers=ADMIN
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_issued")
    assert again.json()["invoice_id"] == shop["id"]

    ghost = await client.post(
        "/admin/invoices", json={**billed.period, "accounts": ["ghost"]}, headers=ADMIN
    )
    assert (ghost.status_code, ghost.json()["code"]) == (404, "unknown_account")
    not_over = await client.post("/admin/invoices", json={"month": "2999-01"}, headers=ADMIN)
    assert not_over.status_code == 200  # every account refused, each says why
    assert {r["code"] for r in not_over.json()["refused"]} == {"period_not_over"}


async def test_issuing_every_account_lists_what_was_issued_and_refused(billed: Billed) -> None:
    await billed.charge("bank", 1, None)
    await billed.charge("shop", 1, 500_000)
    answer = await billed.api.client.post("/admin/invoices", json=billed.period, headers=ADMIN)
    assert answer.status_code == 201
    report = answer.json()
    assert [(i["account"], i["total"]) for i in report["issued"]] == [("shop", 600_000)]
    assert [(r["account"], r["code"]) for r in report["refused"]] == [("bank", "not_final")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"month": "2026-13"}, "month"),
        ({"month": 202612}, "month"),
        ({}, "month"),
        ({"month": "2026-12", "start": "2026-12-01T00:00:00Z"}, "month"),
        ({"start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z"}, "end"),
        ({"start": "2026-12-01T00:00:00", "end": "2026-12-02T00:00:00"}, "start"),
        ({"month": "2026-12", "accounts": ["no spaces"]}, "accounts"),
        ({"month": "2026-12", "acounts": ["bank"]}, "acounts"),
    ],
)
async def test_a_bad_issue_request_is_a_422_naming_the_field(
    billed: Billed, body: dict[str, object], field: str
) -> None:
    answer = await billed.api.client.post("/admin/invoices", json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == ("invalid_field", field)


async def test_credit_notes_are_bounded_by_the_invoice(billed: Billed) -> None:
    await billed.charge("bank", 1, 1_000_000)
    invoice = await billed.issue(**billed.period, accounts=["bank"])
    client, path = billed.api.client, f"/admin/invoices/{invoice['id']}/credit-notes"

    note = await client.post(path, json={"amount": 1_000_000, "reason": "late"}, headers=ADMIN)
    assert note.status_code == 201
    assert (note.json()["kind"], note.json()["refers_to"], note.json()["total"]) == (
        "credit_note", invoice["id"], 1_000_000,
    )  # fmt: skip
    recent = await billed.api.engine.admin.audit.recent(10)  # newest first
    audited = [(e.action, e.detail["id"]) for e in recent if e.action.startswith("invoice.")]
    assert audited == [("invoice.credit_note", note.json()["id"]), ("invoice.issue", invoice["id"])]
    over = await client.post(path, json={"amount": 200_001, "reason": "x"}, headers=ADMIN)
    assert (over.status_code, over.json()["code"], over.json()["field"]) == (
        422, "credit_exceeded", "amount",
    )  # fmt: skip
    zero = await client.post(path, json={"amount": 0, "reason": "x"}, headers=ADMIN)
    assert (zero.status_code, zero.json()["field"]) == (422, "amount")
    of_note = await client.post(
        f"/admin/invoices/{note.json()['id']}/credit-notes",
        json={"amount": 1, "reason": "x"},
        headers=ADMIN,
    )
    assert (of_note.status_code, of_note.json()["code"]) == (409, "not_an_invoice")
    unknown = await client.post(
        "/admin/invoices/INV-1999-000001/credit-notes",
        json={"amount": 1, "reason": "x"},
        headers=ADMIN,
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_invoice")
    bad_json = await client.post(path, content=b"{", headers=ADMIN)
    assert bad_json.status_code == 400
    customer = await client.post(path, json={"amount": 1, "reason": "x"}, headers=billed.api.auth())
    assert customer.status_code == 403

    mine = (await client.get("/v1/invoices", headers=billed.api.auth("bank"))).json()
    assert note.json() in mine["invoices"]


async def test_the_admin_list_pages_with_a_cursor(billed: Billed) -> None:
    noon = (billed.start + timedelta(hours=12)).isoformat()
    first = await billed.issue(start=billed.start.isoformat(), end=noon, accounts=["shop"])
    second = await billed.issue(start=noon, end=billed.end.isoformat(), accounts=["shop"])
    client = billed.api.client
    page = (await client.get("/admin/invoices?account=shop&limit=1", headers=ADMIN)).json()
    assert [i["id"] for i in page["invoices"]] == [second["id"]]
    rest = await client.get(
        f"/admin/invoices?account=shop&limit=1&cursor={page['next_cursor']}", headers=ADMIN
    )
    assert [i["id"] for i in rest.json()["invoices"]] == [first["id"]]
    bad = await client.get("/admin/invoices?cursor=INV-1999-000001", headers=ADMIN)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_request")


async def test_a_shard_without_a_database_answers_503(billed: Billed) -> None:
    async with running_api("memory", api=ApiConfig(admin_key_hash=key_digest(ADMIN_KEY))) as api:
        answer = await api.client.get("/v1/invoices", headers=api.auth("bank"))
        assert (answer.status_code, answer.json()["code"]) == (503, "no_database")
        admin = await api.client.post("/admin/invoices", json=billed.period, headers=ADMIN)
        assert (admin.status_code, admin.json()["code"]) == (503, "no_database")
