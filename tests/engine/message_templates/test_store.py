"""Templates kept the same way on memory and on Redis (node and cluster), and
the service's checks and limits over them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engine.message_templates import (
    BadVariables,
    MemoryTemplateStore,
    MessageTemplate,
    MessageTemplates,
    RedisTemplateStore,
    TemplateIssues,
    TemplatesConfig,
    TemplateStore,
    TooManyTemplates,
)
from engine.message_templates.store import REPLACE
from ledger.redis_client import RedisClient
from tests.cluster import redis_either_fixture, redis_url_fixture  # noqa: F401
from tests.services import namespace_fixture  # noqa: F401

OTP = "Your code is {{code}}. Valid {{minutes}} minutes."


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_client: RedisClient, namespace: str
) -> AsyncIterator[TemplateStore]:
    if request.param == "memory":
        yield MemoryTemplateStore()
    else:
        yield RedisTemplateStore(redis_client, namespace)
        for account in ("bank", "shop"):
            await redis_client.delete(f"{namespace}:templates:{account}")


def template(template_id: str, name: str = "otp", account: str = "bank") -> MessageTemplate:
    return MessageTemplate(
        account=account, id=template_id, name=name, body=OTP, created_at=1, updated_at=1
    )


async def test_templates_round_trip_per_account_sorted_by_name(store: TemplateStore) -> None:
    assert await store.put(template("b" * 16, "Welcome"), 10)
    assert await store.put(template("a" * 16, "otp"), 10)
    assert await store.put(template("c" * 16, "other", account="shop"), 10)
    assert await store.get("bank", "a" * 16) == template("a" * 16, "otp")
    assert await store.get("shop", "a" * 16) is None
    assert [t.name for t in await store.list("bank")] == ["otp", "Welcome"]
    assert [t.id for t in await store.list("shop")] == ["c" * 16]
    assert await store.list("nobody") == []


async def test_a_new_template_past_the_limit_is_refused(store: TemplateStore) -> None:
    assert await store.put(template("a" * 16), 2)
    assert await store.put(template("b" * 16), 2)
    assert not await store.put(template("c" * 16), 2)
    assert await store.put(template("b" * 16, "changed"), 2)  # a change is not a new one
    assert len(await store.list("bank")) == 2


async def test_a_replacement_needs_the_template_and_a_delete_takes_it(
    store: TemplateStore,
) -> None:
    assert not await store.put(template("a" * 16), REPLACE)
    assert await store.put(template("a" * 16), 5)
    assert await store.put(template("a" * 16, "renamed"), REPLACE)
    found = await store.get("bank", "a" * 16)
    assert found is not None and found.name == "renamed"
    assert await store.delete("bank", "a" * 16)
    assert not await store.delete("bank", "a" * 16)
    assert not await store.put(template("a" * 16), REPLACE)
    assert await store.get("bank", "a" * 16) is None


async def test_the_service_checks_keeps_and_fills(store: TemplateStore) -> None:
    now = [1_000.0]
    templates = MessageTemplates(store, TemplatesConfig(max_per_account=1), lambda: now[0])
    created = await templates.create("bank", "  OTP  ", OTP)
    assert (created.name, created.created_at, created.variables) == (
        "OTP",
        1_000_000,
        ("code", "minutes"),
    )
    assert await templates.get("bank", created.id) == created
    assert await templates.get("shop", created.id) is None
    assert await templates.get("bank", "../etc") is None
    with pytest.raises(TooManyTemplates):
        await templates.create("bank", "second", "hello")
    now[0] = 2_000.0
    changed = await templates.update("bank", created.id, "OTP", "Code {{code}}")
    assert changed is not None and (changed.created_at, changed.updated_at) == (
        1_000_000,
        2_000_000,
    )
    assert templates.fill(changed, {"code": "42"}) == "Code 42"
    with pytest.raises(BadVariables, match=r"variables\.minutes: unknown"):
        templates.fill(changed, {"code": "42", "minutes": "5"})
    assert await templates.update("shop", created.id, "x", "y") is None
    assert await templates.delete("bank", created.id)
    assert await templates.update("bank", created.id, "x", "y") is None


async def test_the_service_names_each_field_in_fault(store: TemplateStore) -> None:
    templates = MessageTemplates(store, TemplatesConfig(max_body_length=20))
    with pytest.raises(TemplateIssues) as refused:
        await templates.create("bank", "", "x" * 21)
    assert refused.value.issues == {
        "name": "give the template a name",
        "body": "at most 20 characters",
    }
    with pytest.raises(TemplateIssues) as refused:
        await templates.create("bank", "a\nb", "Hi {{Name}}")
    assert set(refused.value.issues) == {"name", "body"}
    assert refused.value.issues["body"].startswith("character 4: {{Name}} is not a placeholder")
    assert await templates.list("bank") == []
