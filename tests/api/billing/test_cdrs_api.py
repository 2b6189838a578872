"""CDR downloads over HTTP: a customer's own, the admin's of anyone, streamed with
their media type and file name; bad parameters are 422 problems naming the field."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from engine.billing.cdrs import FIELDS
from engine.billing.rates import ExchangeRate
from engine.config import ApiConfig
from engine.customers.api_keys import key_digest
from tests.api.harness import Api, running_api
from tests.engine.billing.billing_rows import BillingRows
from tests.services import (  # noqa: F401  (fixtures used by this module)
    database_url_fixture,
    postgres_database_fixture,
)

ADMIN_KEY = "admin-test-key-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
DECEMBER_3 = datetime(2026, 12, 3, 10, tzinfo=UTC)


ADMIN_API = ApiConfig(admin_key_hash=key_digest(ADMIN_KEY))


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async with running_api("memory", api=ADMIN_API, database_url=database_url) as api:
        yield api


@pytest.fixture
async def rows(database_url: str) -> AsyncIterator[BillingRows]:
    connection = await asyncpg.connect(database_url)
    rows = BillingRows(connection)
    for account, message_id, accepted_at, parts in (
        ("bank", "b-1", DECEMBER_3, 2),
        ("shop", "s-1", DECEMBER_3 + timedelta(hours=1), 1),
        ("bank", "b-2", DECEMBER_3 + timedelta(days=20), 1),
        ("bank", "b-nov", DECEMBER_3 - timedelta(days=10), 1),
    ):
        await rows.message(
            account, message_id, accepted_at=accepted_at, parts=parts, held=10, charged=10
        )
    yield rows
    await connection.close()


def parse_csv(body: bytes) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(body.decode(), newline=""))
    assert tuple(reader.fieldnames or ()) == FIELDS
    return list(reader)


async def test_a_customer_downloads_its_own_month_as_csv(api: Api, rows: BillingRows) -> None:
    answer = await api.client.get("/v1/cdrs?month=2026-12&format=csv", headers=api.auth("bank"))

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="cdrs-bank-2026-12.csv"'
    records = parse_csv(answer.content)
    assert [(r["message_id"], r["part"], r["charged"]) for r in records] == [
        ("b-1", "1", "5"),
        ("b-1", "2", "5"),
        ("b-2", "1", "10"),
    ]


async def test_csv_is_the_format_unless_asked(api: Api, rows: BillingRows) -> None:
    answer = await api.client.get("/v1/cdrs?month=2026-12", headers=api.auth("shop"))

    assert [r["message_id"] for r in parse_csv(answer.content)] == ["s-1"]


async def test_json_lines_between_two_instants(api: Api, rows: BillingRows) -> None:
    answer = await api.client.get(
        "/v1/cdrs",
        params={
            "from": "2026-11-01T00:00:00Z",
            "to": "2026-12-10T00:00:00+00:00",
            "format": "jsonl",
        },
        headers=api.auth("bank"),
    )

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/jsonl"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="cdrs-bank-20261101T000000Z-20261210T000000Z.jsonl"'
    )
    lines = [json.loads(line) for line in answer.content.splitlines()]
    assert [(r["message_id"], r["part"]) for r in lines] == [("b-nov", 1), ("b-1", 1), ("b-1", 2)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("month=2026-13", "month"),
        ("month=december", "month"),
        ("", "month"),
        ("month=2026-12&format=xml", "format"),
        ("month=2026-12&from=2026-12-01T00:00:00Z", "month"),
        ("from=2026-12-01T00:00:00Z", "to"),
        ("from=2026-12-01T00:00:00&to=2026-12-02T00:00:00Z", "from"),
        ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "to"),
    ],
)
async def test_a_bad_parameter_is_a_422_naming_it(api: Api, query: str, field: str) -> None:
    answer = await api.client.get(f"/v1/cdrs?{query}", headers=api.auth("bank"))

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert (problem["code"], problem["field"]) == ("invalid_parameter", field)


async def test_an_unknown_parameter_is_refused(api: Api) -> None:
    answer = await api.client.get("/v1/cdrs?month=2026-12&account=shop", headers=api.auth("bank"))

    assert answer.status_code == 400
    assert "account" in answer.json()["detail"]


async def test_no_key_no_cdrs(api: Api) -> None:
    answer = await api.client.get("/v1/cdrs?month=2026-12")

    assert answer.status_code == 401


async def test_the_admin_downloads_every_account_or_one(api: Api, rows: BillingRows) -> None:
    everyone = await api.client.get("/admin/cdrs?month=2026-12&format=jsonl", headers=ADMIN)
    shop = await api.client.get("/admin/cdrs?month=2026-12&account=shop", headers=ADMIN)

    assert everyone.headers["content-disposition"] == (
        'attachment; filename="cdrs-all-2026-12.jsonl"'
    )
    records = [json.loads(line) for line in everyone.content.splitlines()]
    assert [(r["account"], r["message_id"]) for r in records] == [
        ("bank", "b-1"),
        ("bank", "b-1"),
        ("shop", "s-1"),
        ("bank", "b-2"),
    ]
    assert shop.headers["content-disposition"] == 'attachment; filename="cdrs-shop-2026-12.csv"'
    assert [r["account"] for r in parse_csv(shop.content)] == ["shop"]


async def test_the_admin_asks_for_margins_in_a_reporting_currency(
    api: Api, rows: BillingRows
) -> None:
    rate = ExchangeRate(
        base="EUR", quote="USD", rate="1.25", valid_from=DECEMBER_3 - timedelta(days=30)
    )
    await api.engine.admin.add_rates([rate])
    url = "/admin/cdrs?month=2026-12&account=shop&format=jsonl&reporting=USD"
    [record] = [
        json.loads(line) for line in (await api.client.get(url, headers=ADMIN)).content.splitlines()
    ]
    assert (record["reporting_currency"], record["sell_reporting"]) == ("USD", 12)  # 12.5: even
    bad = await api.client.get("/admin/cdrs?month=2026-12&reporting=eur", headers=ADMIN)
    assert (bad.status_code, bad.json()["field"]) == (422, "reporting")


async def test_the_admin_endpoint_wants_the_admin_key(api: Api) -> None:
    answer = await api.client.get("/admin/cdrs?month=2026-12", headers=api.auth("bank"))

    assert answer.status_code == 403


async def test_the_admin_names_a_malformed_account(api: Api) -> None:
    answer = await api.client.get("/admin/cdrs?month=2026-12&account=a%20b", headers=ADMIN)

    assert answer.status_code == 422
    assert answer.json()["field"] == "account"


async def test_without_a_database_there_are_no_cdrs() -> None:
    async with running_api("memory", api=ADMIN_API) as api:
        answer = await api.client.get("/v1/cdrs?month=2026-12", headers=api.auth("bank"))

    assert answer.status_code == 503
    assert answer.json()["code"] == "cdrs_unavailable"


async def test_a_database_that_does_not_answer_is_a_503_not_a_cut_download() -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/nowhere"
    async with running_api("memory", api=ADMIN_API, database_url=unreachable) as api:
        answer = await api.client.get("/v1/cdrs?month=2026-12", headers=api.auth("bank"))

    assert answer.status_code == 503
    assert answer.json()["code"] == "cdrs_unavailable"
