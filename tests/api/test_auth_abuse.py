"""Guessing over HTTP: bad API keys, admin keys and Jasmin passwords are
throttled and locked out per source; webhook URLs are checked at the edge
as they will be at send time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from api.server import HttpFront
from engine.config import ApiConfig
from engine.customers.api_keys import key_digest
from engine.customers.login_guard import SecurityConfig
from engine.webhooks import WebhookLimits
from tests.api.harness import Api, running_api

ADMIN_KEY = "admin-test-key-0123456789abcdef"
FR = "33612345678"
FAST = SecurityConfig(login_failures_before_delay=100, login_failures_before_lockout=3)


@asynccontextmanager
async def guarded_api(**options: Any) -> AsyncIterator[Api]:
    """The memory backend with an admin key, public webhooks only, and a
    lockout after three failures without delays."""
    options.setdefault("security", FAST)
    options.setdefault("webhooks", WebhookLimits())
    api_config = ApiConfig(admin_key_hash=key_digest(ADMIN_KEY))
    async with running_api("memory", api=api_config, **options) as api:
        yield api


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def balance(api: Api, key: str) -> httpx.Response:
    return await api.client.get("/v1/balance", headers=bearer(key))


async def test_bad_api_keys_lock_the_source_out() -> None:
    async with guarded_api() as api:
        good = api.keys["bank"]
        bad = good[:-4] + "xxxx"
        assert [(await balance(api, bad)).status_code for _ in range(3)] == [401] * 3
        locked = await balance(api, good)
        assert locked.status_code == 429
        assert locked.json()["code"] == "locked_out"
        assert 0 < int(locked.headers["retry-after"]) <= 300
        counts = api.engine.logins.guard.counts
        assert (counts["api_key", "failed"], counts["api_key", "refused"]) == (3, 1)


async def test_x_forwarded_for_does_not_change_the_source() -> None:
    """The source is the socket's peer (docs/security.md): a caller on the
    front's own host cannot spread its guesses over forged addresses."""
    async with guarded_api() as api:
        front = HttpFront(api.engine, "127.0.0.1", 0)
        await front.start()
        try:
            url = f"http://127.0.0.1:{front.port}/v1/balance"
            async with httpx.AsyncClient() as client:
                statuses = [
                    (
                        await client.get(
                            url, headers={**bearer("sgw_bad"), "X-Forwarded-For": f"192.0.2.{n}"}
                        )
                    ).status_code
                    for n in range(4)
                ]
        finally:
            await front.stop()
        assert statuses == [401, 401, 401, 429]


async def test_a_good_key_between_bad_ones_does_not_reset_the_count() -> None:
    async with guarded_api() as api:
        for _ in range(2):
            assert (await balance(api, "sgw_nothing_here")).status_code == 401
            assert (await balance(api, api.keys["bank"])).status_code == 200
        assert (await balance(api, "sgw_nothing_here")).status_code == 401
        assert (await balance(api, "sgw_nothing_either")).status_code == 429
        # A key this shard checked lately is no guess: its client is not held up.
        assert (await balance(api, api.keys["bank"])).status_code == 200


async def test_wrong_admin_keys_lock_the_source_out() -> None:
    async with guarded_api() as api:
        statuses = [
            (await api.client.get("/admin/accounts", headers=bearer(key))).status_code
            for key in ("guess-1", api.keys["bank"], "guess-2", ADMIN_KEY)
        ]
        assert statuses == [403, 403, 403, 429]


async def test_jasmin_passwords_alike_for_unknown_and_locked_and_cheap_to_repeat() -> None:
    async with guarded_api(security=SecurityConfig(login_failures_before_delay=100)) as api:

        async def send(username: str, password: str) -> httpx.Response:
            fields = {"username": username, "password": password, "to": FR, "content": "hi"}
            return await api.client.get("/send", params=fields)

        answers = [await send("bank", "wrong") for _ in range(5)] + [await send("nobody", "x")]
        assert {(a.status_code, a.text.replace("nobody", "bank")) for a in answers} == {
            (403, 'Error "Authentication failure for username:bank"')
        }
        checks = api.engine.logins.passwords.counts
        assert (checks["checked"], checks["remembered"]) == (2, 4)  # one per distinct guess


async def test_a_locked_out_jasmin_caller_is_refused_with_the_right_password() -> None:
    async with guarded_api() as api:
        fields = {"username": "bank", "to": FR, "content": "hi"}
        for i in range(3):
            answer = await api.client.get("/send", params={**fields, "password": f"guess-{i}"})
            assert answer.status_code == 403
        answer = await api.client.get("/send", params={**fields, "password": "secret"})
        assert answer.text == 'Error "Authentication failure for username:bank"'
        assert api.engine.logins.guard.counts["jasmin", "refused"] == 1


BAD_WEBHOOKS = [
    "http://example.com/a b",
    "http://example.com/a\r\nX-Injected: 1",
    "ftp://example.com/x",
    "http://127.0.0.1:8080/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:10.0.0.1]/hook",
    "http://2130706433/hook",
]


async def test_v1_webhook_urls_are_checked_like_the_admin_api() -> None:
    async with guarded_api() as api:
        for url in BAD_WEBHOOKS:
            body = {"to": FR, "from": "Bank", "text": "hi", "webhook_url": url}
            answer = await api.client.post("/v1/messages", json=body, headers=api.auth())
            assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request"), url
            created = await api.client.post(
                "/admin/accounts", json={"id": "x", "webhook_url": url}, headers=bearer(ADMIN_KEY)
            )
            assert created.status_code == 422, url
            assert created.json()["code"] == "invalid_webhook_url"


async def test_jasmin_dlr_urls_to_internal_addresses_are_refused() -> None:
    async with guarded_api() as api:
        fields = {"username": "bank", "password": "secret", "to": FR, "content": "hi"}
        dlr = {"dlr": "yes", "dlr-url": "http://10.1.2.3/dlr", "dlr-level": "2"}
        answer = await api.client.get("/send", params={**fields, **dlr})
        assert answer.status_code == 400
        assert "dlr-url" in answer.text


async def test_allowed_networks_let_an_operators_own_receivers_through() -> None:
    webhooks = WebhookLimits(allowed_networks=("127.0.0.0/8",))
    async with guarded_api(webhooks=webhooks) as api:
        body = {"to": FR, "from": "Bank", "text": "hi", "webhook_url": "http://127.0.0.1:9/hook"}
        answer = await api.client.post("/v1/messages", json=body, headers=api.auth())
        assert answer.status_code == 202, answer.text
