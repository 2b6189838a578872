"""A running shard with the console installed and its routes mounted, and
a browser-like client (cookies kept, redirects not followed)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from argon2 import PasswordHasher

from api.console import console_routes, install_console
from engine.console import ConsoleUsers, MemoryConsoleUserStore
from engine.customers.login_guard import SecurityConfig
from tests.api.harness import Api, running_api

PASSWORD = "correct horse battery"
LOCKOUT_AFTER = 3
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')

# Fast argon2 for tests: the parameters are not what is under test.
_FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
async def console() -> AsyncIterator[Api]:
    security = SecurityConfig(login_delay=0.0, login_failures_before_lockout=LOCKOUT_AFTER)
    async with running_api("memory", security=security) as api:
        users = ConsoleUsers(MemoryConsoleUserStore(), api.engine.logins, _FAST)
        install_console(api.engine, users, b"s" * 32, secure_cookies=False)
        assert api.app is not None
        api.app.router.routes.extend(console_routes())
        await users.add("root", PASSWORD, "admin")
        await users.add("helpdesk", PASSWORD, "support")
        await users.add("bank-user", PASSWORD, "customer", account="bank")
        await users.add("shop-user", PASSWORD, "customer", account="shop")
        yield api


def csrf_in(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


async def log_in(client: httpx.AsyncClient, name: str, door: str = "console") -> httpx.Response:
    form = await client.get(f"/{door}/login")
    return await client.post(
        f"/{door}/login",
        data={"username": name, "password": PASSWORD, "csrf": csrf_in(form)},
    )
