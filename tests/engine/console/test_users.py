"""Managing console users: creation rules, disabling (never oneself, never
the last admin), password resets, and every change in the audit log."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from engine.admin.audit import AuditLog, acting_as
from engine.console import ConsoleUsers, MemoryConsoleUserStore, UserRefused
from engine.customers.login_guard import SecurityConfig
from engine.customers.logins import Logins, LoginVerdict

PASSWORD = "correct horse battery"
_FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def users() -> ConsoleUsers:
    logins = Logins(SecurityConfig(login_delay=0.0, login_failures_before_lockout=3))
    return ConsoleUsers(MemoryConsoleUserStore(), logins, _FAST, audit=AuditLog("test", None, 100))


async def test_create_audits_and_the_user_logs_in(users: ConsoleUsers) -> None:
    with acting_as("console:root"):
        await users.create("ops", PASSWORD, "support")
    outcome = await users.login("ops", PASSWORD, "10.0.0.1")
    assert outcome.user is not None and outcome.user.role == "support"
    assert users.audit is not None
    [entry] = await users.audit.recent(10)
    assert (entry.actor, entry.action, entry.target) == (
        "console:root",
        "console_user.create",
        "console_user:ops",
    )
    assert PASSWORD not in str(entry.detail)


@pytest.mark.parametrize(
    ("name", "password", "role", "account", "field"),
    [
        ("bad name", PASSWORD, "admin", None, "name"),
        ("ok", PASSWORD, "boss", None, "role"),
        ("ok", PASSWORD, "customer", None, "account"),
        ("ok", PASSWORD, "reseller", None, "account"),
        ("ok", PASSWORD, "support", "bank", "account"),
        ("ok", "short", "admin", None, "password"),
    ],
)
async def test_create_refuses_with_the_field(
    users: ConsoleUsers, name: str, password: str, role: str, account: str | None, field: str
) -> None:
    with pytest.raises(UserRefused) as refused:
        await users.create(name, password, role, account)
    assert refused.value.field == field
    assert await users.get(name) is None


async def test_create_never_replaces_a_user(users: ConsoleUsers) -> None:
    await users.create("amy", PASSWORD, "customer", "bank")
    with pytest.raises(UserRefused) as refused:
        await users.create("amy", PASSWORD, "admin")
    assert refused.value.field == "name"
    found = await users.get("amy")
    assert found is not None and found.role == "customer"


async def test_nobody_disables_themselves_nor_the_last_admin(users: ConsoleUsers) -> None:
    await users.create("root", PASSWORD, "admin")
    await users.create("boss", PASSWORD, "admin")
    with pytest.raises(UserRefused, match="yourself"):
        await users.set_disabled("root", "root", True)
    await users.set_disabled("root", "boss", True)
    with pytest.raises(UserRefused, match="last enabled admin"):
        await users.set_disabled("helper", "root", True)
    assert (await users.login("boss", PASSWORD, "10.0.0.1")).user is None
    await users.set_disabled("root", "boss", False)
    assert (await users.login("boss", PASSWORD, "10.0.0.1")).user is not None


async def test_a_disabled_user_loses_its_session(users: ConsoleUsers) -> None:
    await users.create("root", PASSWORD, "admin")
    await users.create("ops", PASSWORD, "support")
    session_id, _ = await users.open_session((await users.login("ops", PASSWORD, "x")).user)  # type: ignore[arg-type]
    assert await users.session(session_id) is not None
    await users.set_disabled("root", "ops", True)
    assert await users.session(session_id) is None


async def test_reset_password_generated_or_set(users: ConsoleUsers) -> None:
    await users.create("ops", PASSWORD, "support")
    generated = await users.reset_password("ops")
    assert (await users.login("ops", PASSWORD, "10.0.0.1")).user is None
    assert (await users.login("ops", generated, "10.0.0.1")).user is not None
    await users.reset_password("ops", "another long one")
    assert (await users.login("ops", "another long one", "10.0.0.1")).user is not None
    assert users.audit is not None
    actions = [e.action for e in await users.audit.recent(10)]
    assert actions.count("console_user.password") == 2
    with pytest.raises(UserRefused):
        await users.reset_password("nobody")


async def test_unknown_names_are_refused_like_wrong_passwords(users: ConsoleUsers) -> None:
    outcome = await users.login("ghost", PASSWORD, "10.0.0.1")
    assert outcome.attempt.verdict is LoginVerdict.REFUSED and outcome.user is None
