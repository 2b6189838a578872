"""Admin API: exchange rates added as JSON or a CSV file, listed, refused by place."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from tests.api.harness import Api
from tests.api.test_admin import ADMIN, AdminStarter, api, problem, start

__all__ = ["api", "start"]  # fixtures

PATH = "/admin/exchange-rates"
CSV_HEADERS = ADMIN | {"Content-Type": "text/csv; charset=utf-8"}
JAN = datetime(2026, 1, 1, tzinfo=UTC)


def rate(base: str, quote: str, value: str, valid_from: str = "2026-01-01T00:00:00Z") -> Any:
    return {"base": base, "quote": quote, "rate": value, "valid_from": valid_from}


async def listed(api: Api, query: str = "") -> list[Any]:
    answer = await api.client.get(f"{PATH}{query}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    rates: list[Any] = answer.json()["rates"]
    return rates


async def test_records_added_are_listed_and_price_at_once(start: AdminStarter) -> None:
    async with start() as api:
        records = [rate("USD", "UZS", "11900"), rate("EUR", "UZS", "012850.50")]
        answer = await api.client.post(PATH, json=records, headers=ADMIN)
        assert (answer.status_code, answer.json()) == (201, {"added": 2, "unchanged": 0})
        answer = await api.client.post(PATH, json=records, headers=ADMIN)
        assert (answer.status_code, answer.json()) == (200, {"added": 0, "unchanged": 2})
        assert await listed(api) == [rate("EUR", "UZS", "12850.5"), rate("USD", "UZS", "11900")]
        assert await listed(api, "?base=USD") == [rate("USD", "UZS", "11900")]
        assert await listed(api, "?base=EUR&quote=USD") == []
        rates = api.engine.billing.rates
        assert rates.rate_at("UZS", "EUR", JAN.timestamp()) == (
            Fraction(2, 25701),
            "0.0000778179837360413992",
        )


async def test_a_csv_file_is_imported(api: Api) -> None:
    text = (
        "base,quote,rate,valid_from\r\n"
        "EUR,UZS,12850.5,2026-01-01\r\n"
        "GBP,EUR,1.17,2026-02-01T03:00:00+03:00\r\n"
    )
    answer = await api.client.post(f"{PATH}/import", content=text, headers=CSV_HEADERS)
    assert (answer.status_code, answer.json()) == (201, {"added": 2, "unchanged": 0})
    assert await listed(api) == [
        rate("EUR", "UZS", "12850.5"),
        rate("GBP", "EUR", "1.17", "2026-02-01T00:00:00Z"),
    ]


async def test_bad_records_are_refused_each_by_its_place_and_nothing_is_added(api: Api) -> None:
    records = [
        rate("EUR", "UZS", "12850.5"),
        rate("EUX", "UZS", "0"),
        rate("eur", "USD", "1.08"),
        rate("EUR", "USD", "1.08", "2026-01-01T00:00:00"),
    ]
    body = problem(
        await api.client.post(PATH, json=records, headers=ADMIN), 422, "invalid_exchange_rates"
    )
    assert [issue.split(": ")[:2] for issue in body["issues"]] == [
        ["$[1]", "base"],
        ["$[1]", "rate"],
        ["$[2].base", "expected an ISO 4217 alpha-3 code, e.g. EUR"],
        ["$[3].valid_from", "Expected `datetime` with a timezone component"],
    ]
    text = "base,quote,rate,valid_from\nEUR,UZS,12850.5,2026-01-01\nEUR,USD,1.08,2026-01-01T00:00\n"
    answer = await api.client.post(f"{PATH}/import", content=text, headers=CSV_HEADERS)
    body = problem(answer, 422, "invalid_exchange_rates")
    assert body["issues"] == [
        "line 3: valid_from: '2026-01-01T00:00' has no time zone (add Z for UTC)"
    ]
    assert await listed(api) == []


async def test_another_rate_for_a_held_pair_and_instant_is_a_conflict(api: Api) -> None:
    await api.client.post(PATH, json=[rate("EUR", "UZS", "12850.5")], headers=ADMIN)
    batch = [rate("GBP", "EUR", "1.17"), rate("EUR", "UZS", "12851")]
    body = problem(
        await api.client.post(PATH, json=batch, headers=ADMIN), 409, "exchange_rate_conflict"
    )
    assert "EUR->UZS" in body["detail"] and "12850.5" in body["detail"]
    assert await listed(api) == [rate("EUR", "UZS", "12850.5")]


async def test_a_change_is_audited(api: Api) -> None:
    await api.client.post(PATH, json=[rate("EUR", "UZS", "12850.5")], headers=ADMIN)
    (entry,) = await api.engine.admin.audit.recent(1)
    assert (entry.action, entry.actor) == ("exchange_rates.add", "admin-api")
    assert entry.detail == {"added": 1, "pairs": ["EUR->UZS"]}


async def test_the_wrong_body_or_query_is_refused(api: Api) -> None:
    problem(await api.client.get(PATH), 401, "unauthorized")
    problem(await api.client.get(f"{PATH}?base=eur", headers=ADMIN), 400, "invalid_request")
    answer = await api.client.post(f"{PATH}/import", json=[], headers=ADMIN)
    problem(answer, 415, "unsupported_media_type")
    answer = await api.client.post(PATH, content="base,quote\n", headers=CSV_HEADERS)
    problem(answer, 415, "unsupported_media_type")
    answer = await api.client.post(PATH, content=b"[{", headers=ADMIN)
    problem(answer, 400, "invalid_request")
    answer = await api.client.post(f"{PATH}/import", content=b"\xff\xfe", headers=CSV_HEADERS)
    problem(answer, 400, "invalid_request")
    answer = await api.client.post(f"{PATH}/import", content="rate\n", headers=CSV_HEADERS)
    assert problem(answer, 422, "invalid_exchange_rates")["issues"][0].startswith("line 1: header")
