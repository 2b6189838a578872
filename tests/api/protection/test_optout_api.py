"""Opt-out lists over HTTP on both backends: the admin's (any list, CSV in
and out, one number at a time) and a customer's own; a listed number is
refused to the HTTP sender too, with ``opted_out`` and nothing held."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from api import protection
from api.app import one_route_per_path
from engine.optout.install import install_optout
from engine.optout.service import OptOut
from engine.optout.store import MemoryOptOutStore, RedisOptOutStore
from tests.api.harness import Api
from tests.api.test_admin import ADMIN, admin_api, problem
from tests.engine.gateway_harness import CREDIT

FR, IR, DE = "33612345678", "989121234567", "4915112345678"
CSV = ADMIN | {"Content-Type": "text/csv"}
HEADER = "number,added_at,source"

Starter = Callable[..., AbstractAsyncContextManager[Api]]


@asynccontextmanager
async def optout_api(backend: str, redis: Redis | None, namespace: str) -> AsyncIterator[Api]:
    """The admin API with the opt-out lists installed and their routes in front,
    as the composition root will (``Engine.protection.optout``)."""
    async with admin_api(backend, redis, namespace) as api:
        store = RedisOptOutStore(redis, namespace) if redis is not None else MemoryOptOutStore()
        optout = await install_optout(api.engine.gateway, store, None, redis)
        api.engine.protection.optout = optout
        assert api.app is not None
        api.app.router.routes[:0] = one_route_per_path(protection.routes)
        yield api


@pytest.fixture(params=["memory", "redis"])
def start(request: pytest.FixtureRequest, redis_client: Redis, namespace: str) -> Starter:
    redis = redis_client if request.param == "redis" else None
    return lambda: optout_api(request.param, redis, namespace)


def lists(api: Api) -> OptOut:
    optout = api.engine.protection.optout
    assert optout is not None
    return optout


async def exported(api: Api, path: str, headers: dict[str, str]) -> list[str]:
    answer = await api.client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    lines = answer.text.split("\r\n")
    assert lines[0] == HEADER and lines[-1] == ""
    return sorted(lines[1:-1])


def numbers(rows: list[str]) -> list[str]:
    return [row.split(",")[0] for row in rows]


async def test_the_admin_lists_one_number_globally_or_for_an_account(start: Starter) -> None:
    async with start() as api:
        answer = await api.client.post(f"/admin/opt-outs/+{FR}", headers=ADMIN)
        assert (answer.status_code, answer.json()) == (201, {"added": 1, "unchanged": 0})
        answer = await api.client.post(f"/admin/opt-outs/{FR}", headers=ADMIN)
        assert (answer.status_code, answer.json()) == (200, {"added": 0, "unchanged": 1})
        answer = await api.client.post(f"/admin/opt-outs/{IR}?account=shop", headers=ADMIN)
        assert answer.status_code == 201
        assert lists(api).listed(None, FR) and lists(api).listed("shop", IR)
        assert not lists(api).listed("bank", IR)
        assert numbers(await exported(api, "/admin/opt-outs", ADMIN)) == [FR]
        [row] = await exported(api, "/admin/opt-outs?account=shop", ADMIN)
        assert row.startswith(f"{IR},20") and row.endswith("Z,admin")

        answer = await api.client.delete(f"/admin/opt-outs/{FR}", headers=ADMIN)
        assert answer.status_code == 204 and not lists(api).listed(None, FR)
        problem(
            await api.client.delete(f"/admin/opt-outs/{FR}", headers=ADMIN), 404, "not_opted_out"
        )
        actions = [entry.action for entry in await api.engine.admin.audit.recent(10)]
        assert actions[:3] == ["opt_out.remove", "opt_out.add", "opt_out.add"]


async def test_the_admin_is_told_what_is_wrong(start: Starter) -> None:
    async with start() as api:
        client = api.client
        body = problem(await client.post("/admin/opt-outs/0612345678", headers=ADMIN), 422,
                       "invalid_number")  # fmt: skip
        assert "'0612345678' is not an international number" in body["detail"]
        problem(await client.post(f"/admin/opt-outs/{FR}?account=nobody", headers=ADMIN), 404,
                "unknown_account")  # fmt: skip
        problem(await client.get("/admin/opt-outs?acount=bank", headers=ADMIN), 400,
                "invalid_request")  # fmt: skip
        problem(await client.get("/admin/opt-outs", headers=api.auth()), 403, "forbidden")
        problem(await client.post("/admin/opt-outs/import", content=FR, headers=ADMIN), 415,
                "unsupported_media_type")  # fmt: skip


async def test_a_csv_export_is_imported_into_another_list(start: Starter) -> None:
    async with start() as api:
        text = "number,added_at\r\n+33612345678,2025-06-01T12:00:00+02:00\r\n989121234567,\r\n"
        answer = await api.client.post("/admin/opt-outs/import?account=bank", content=text,
                                       headers=CSV)  # fmt: skip
        assert (answer.status_code, answer.json()) == (201, {"added": 2, "unchanged": 0})
        answer = await api.client.post("/admin/opt-outs/import?account=bank", content=text,
                                       headers=CSV)  # fmt: skip
        assert (answer.status_code, answer.json()) == (200, {"added": 0, "unchanged": 2})
        rows = await exported(api, "/admin/opt-outs?account=bank", ADMIN)
        assert rows[0] == f"{FR},2025-06-01T10:00:00.000Z,import"

        file = "\r\n".join([HEADER, *rows, ""])
        answer = await api.client.post("/admin/opt-outs/import?account=shop", content=file,
                                       headers=CSV)  # fmt: skip
        assert answer.json() == {"added": 2, "unchanged": 0}
        assert await exported(api, "/admin/opt-outs?account=shop", ADMIN) == rows
        assert lists(api).listed("shop", FR) and lists(api).listed("shop", IR)


async def test_a_file_with_bad_rows_is_refused_whole_by_line(start: Starter) -> None:
    async with start() as api:
        text = f"{FR}\n0612345678\n{IR}\n12ab\n"
        answer = await api.client.post("/admin/opt-outs/import", content=text, headers=CSV)
        body = problem(answer, 422, "invalid_opt_outs")
        assert [issue.split(":")[0] for issue in body["issues"]] == ["line 2", "line 4"]
        assert await exported(api, "/admin/opt-outs", ADMIN) == []
        assert not lists(api).listed(None, FR)


async def test_a_customer_keeps_its_own_list(start: Starter) -> None:
    async with start() as api:
        bank, shop = api.auth("bank"), api.auth("shop")
        answer = await api.client.post("/v1/opt-outs", json={"numbers": [FR, f"+{FR}", IR]},
                                       headers=bank)  # fmt: skip
        assert (answer.status_code, answer.json()) == (201, {"added": 2, "unchanged": 0})
        assert numbers(await exported(api, "/v1/opt-outs", bank)) == [FR, IR]
        assert await exported(api, "/v1/opt-outs", shop) == []
        problem(await api.client.delete(f"/v1/opt-outs/{FR}", headers=shop), 404, "not_opted_out")
        assert (await api.client.delete(f"/v1/opt-outs/{FR}", headers=bank)).status_code == 204
        assert numbers(await exported(api, "/v1/opt-outs", bank)) == [IR]

        answer = await api.client.post("/v1/opt-outs", json={"numbers": [DE, "0612", "x"]},
                                       headers=bank)  # fmt: skip
        body = problem(answer, 422, "invalid_opt_outs")
        assert [issue.split(":")[0] for issue in body["issues"]] == ["$.numbers[1]", "$.numbers[2]"]
        empty = await api.client.post("/v1/opt-outs", json={"numbers": []}, headers=bank)
        problem(empty, 400, "invalid_request")
        problem(await api.client.get("/v1/opt-outs"), 401, "unauthorized")


async def test_an_opt_out_by_text_stays_until_the_admin_lifts_it(start: Starter) -> None:
    async with start() as api:
        await lists(api).add("bank", [FR], "mo")
        answer = await api.client.delete(f"/v1/opt-outs/{FR}", headers=api.auth())
        problem(answer, 409, "opted_out_by_recipient")
        assert lists(api).listed("bank", FR)
        answer = await api.client.delete(f"/admin/opt-outs/{FR}?account=bank", headers=ADMIN)
        assert answer.status_code == 204 and not lists(api).listed("bank", FR)


async def test_a_listed_number_is_refused_to_the_http_sender(start: Starter) -> None:
    async with start() as api:
        await api.client.post("/v1/opt-outs", json={"numbers": [FR]}, headers=api.auth())
        body: dict[str, Any] = {"to": FR, "from": "Bank", "text": "offer"}
        answer = await api.client.post("/v1/messages", json=body, headers=api.auth())
        refusal = problem(answer, 422, "opted_out")
        assert refusal["detail"] == "the recipient is on this account's opt-out list"
        balance = (await api.client.get("/v1/balance", headers=api.auth())).json()
        assert (balance["balance"], balance["held"]) == (CREDIT, 0)
        answer = await api.client.post("/v1/messages", json=body, headers=api.auth("shop"))
        assert answer.status_code == 202
