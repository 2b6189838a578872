"""Message templates over HTTP on both backends: an account keeps its own,
and POST /v1/messages sends one with its variables filled in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from engine.message_templates import (
    MemoryTemplateStore,
    MessageTemplates,
    RedisTemplateStore,
    TemplatesConfig,
)
from tests.api.harness import Api, running_api
from tests.engine.gateway_harness import PRICE

FR = "33612345678"
OTP = "Your code is {{code}}. Valid {{minutes}} minutes."

Starter = Callable[..., AbstractAsyncContextManager[Api]]


@asynccontextmanager
async def templates_api(
    backend: str, redis: Redis | None, namespace: str, config: TemplatesConfig | None = None
) -> AsyncIterator[Api]:
    """The API with templates installed as the composition root does."""
    async with running_api(backend, redis, namespace) as api:
        store = RedisTemplateStore(redis, namespace) if redis is not None else MemoryTemplateStore()
        api.engine.platform.templates = MessageTemplates(store, config)
        yield api


@pytest.fixture(params=["memory", "redis"])
def start(request: pytest.FixtureRequest, redis_client: Redis, namespace: str) -> Starter:
    redis = redis_client if request.param == "redis" else None
    return lambda config=None: templates_api(request.param, redis, namespace, config)


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["code"] == code
    return body


async def create(api: Api, account: str = "bank", **fields: Any) -> httpx.Response:
    body = {"name": "OTP", "body": OTP, **fields}
    return await api.client.post("/v1/templates", json=body, headers=api.auth(account))


async def test_an_account_keeps_changes_and_deletes_its_templates(start: Starter) -> None:
    async with start() as api:
        answer = await create(api)
        assert answer.status_code == 201, answer.text
        created = answer.json()
        assert (created["name"], created["body"]) == ("OTP", OTP)
        assert created["variables"] == ["code", "minutes"]
        assert created["created_at"] == created["updated_at"]
        one = f"/v1/templates/{created['id']}"

        listed = (await api.client.get("/v1/templates", headers=api.auth())).json()
        assert listed == {"templates": [created]}
        assert (await api.client.get(one, headers=api.auth())).json() == created

        answer = await api.client.put(
            one, json={"name": "Login", "body": "Code {{code}}"}, headers=api.auth()
        )
        assert answer.status_code == 200, answer.text
        changed = answer.json()
        assert (changed["name"], changed["variables"]) == ("Login", ["code"])
        assert changed["created_at"] == created["created_at"]

        assert (await api.client.delete(one, headers=api.auth())).status_code == 204
        problem(await api.client.get(one, headers=api.auth()), 404, "unknown_template")
        problem(await api.client.delete(one, headers=api.auth()), 404, "unknown_template")
        assert (await api.client.get("/v1/templates", headers=api.auth())).json() == {
            "templates": []
        }


async def test_an_account_never_sees_another_accounts_template(start: Starter) -> None:
    async with start() as api:
        created = (await create(api)).json()
        one = f"/v1/templates/{created['id']}"
        other = api.auth("shop")
        problem(await api.client.get(one, headers=other), 404, "unknown_template")
        answer = await api.client.put(one, json={"name": "x", "body": "y"}, headers=other)
        problem(answer, 404, "unknown_template")
        problem(await api.client.delete(one, headers=other), 404, "unknown_template")
        assert (await api.client.get("/v1/templates", headers=other)).json()["templates"] == []
        body = {"to": FR, "from": "Shop", "template": created["id"], "variables": {"code": "1"}}
        answer = await api.client.post("/v1/messages", json=body, headers=other)
        problem(answer, 422, "unknown_template")


async def test_a_bad_template_is_refused_naming_each_field(start: Starter) -> None:
    async with start(TemplatesConfig(max_body_length=30, max_per_account=1)) as api:
        body = problem(await create(api, name=" ", body="Hi {{ name }}"), 422, "invalid_template")
        assert set(body["issues"]) == {"name", "body"}
        assert "{{ name }} is not a placeholder" in body["issues"]["body"]
        body = problem(await create(api, body="x" * 31), 422, "invalid_template")
        assert body["issues"] == {"body": "at most 30 characters"}
        problem(await create(api, extra=1), 400, "invalid_request")
        assert (await create(api, body="Code {{code}}")).status_code == 201
        problem(await create(api, body="Another"), 409, "too_many_templates")
        problem(await api.client.get("/v1/templates"), 401, "unauthorized")


async def test_a_message_is_sent_from_a_template(start: Starter) -> None:
    async with start() as api:
        template = (await create(api)).json()
        body = {
            "to": FR,
            "from": "Bank",
            "template": template["id"],
            "variables": {"code": "123456", "minutes": "5"},
        }
        answer = await api.client.post("/v1/messages", json=body, headers=api.auth())
        assert answer.status_code == 202, answer.text
        [message] = answer.json()["messages"]
        assert (message["status"], message["parts"], message["price_per_part"]) == (
            "accepted",
            1,
            PRICE,
        )
        sent = api.engine.pipeline.states.get(message["id"], "bank")
        assert sent is not None


async def test_a_bad_variable_is_a_422_naming_it(start: Starter) -> None:
    async with start() as api:
        template = (await create(api)).json()
        base = {"to": FR, "from": "Bank", "template": template["id"]}
        variables = {"code": "1" * 161, "extra": "x"}
        answer = await api.client.post(
            "/v1/messages", json={**base, "variables": variables}, headers=api.auth()
        )
        body = problem(answer, 422, "invalid_variables")
        assert body["variables"] == {
            "code": "too long: at most 160 characters",
            "extra": "unknown: the template has no such placeholder",
            "minutes": "missing: the template needs a value",
        }
        assert "variables.minutes: missing" in body["detail"]
        answer = await api.client.post(
            "/v1/messages", json={**base, "text": "hello"}, headers=api.auth()
        )
        problem(answer, 400, "invalid_request")
        answer = await api.client.post(
            "/v1/messages",
            json={"to": FR, "from": "Bank", "text": "hi", "variables": {"code": "1"}},
            headers=api.auth(),
        )
        problem(answer, 400, "invalid_request")
        answer = await api.client.post(
            "/v1/messages", json={**base, "variables": {"code": 1}}, headers=api.auth()
        )
        body = problem(answer, 422, "invalid_variables")
        assert body["variables"] == {
            "code": "not a string",
            "minutes": "missing: the template needs a value",
        }
        balance = (await api.client.get("/v1/balance", headers=api.auth())).json()
        assert balance["held"] == 0


async def test_without_templates_installed_the_api_says_so() -> None:
    async with running_api("memory") as api:
        problem(
            await api.client.get("/v1/templates", headers=api.auth()), 503, "templates_unavailable"
        )
