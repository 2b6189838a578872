"""TOTP for console users (RFC 6238): enrolment confirmed by a code, the
second login step, codes good once, failures in the shared lockout."""

from __future__ import annotations

import pyotp
import pytest
from argon2 import PasswordHasher

from engine.console import ConsoleUser, ConsoleUsers, MemoryConsoleUserStore
from engine.console.totp import matching_step, provisioning_uri
from engine.customers.login_guard import SecurityConfig
from engine.customers.logins import Logins, LoginVerdict

PASSWORD = "correct horse battery"
NOW = 1_800_000_000.0
_FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def users(clock: Clock) -> ConsoleUsers:
    logins = Logins(SecurityConfig(login_delay=0.0, login_failures_before_lockout=3))
    users = ConsoleUsers(MemoryConsoleUserStore(clock), logins, _FAST, clock)
    await users.create("root", PASSWORD, "admin")
    return users


def code(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)


async def enrolled(users: ConsoleUsers, clock: Clock) -> str:
    secret = await users.start_totp("root")
    assert await users.confirm_totp("root", code(secret, clock.now))
    clock.now += 30
    return secret


async def password_step(users: ConsoleUsers) -> str:
    outcome = await users.login("root", PASSWORD, "10.0.0.1")
    assert outcome.user is not None and outcome.user.totp_secret is not None
    return await users.await_code(outcome.user)


def test_codes_match_within_one_step_of_drift() -> None:
    secret = pyotp.random_base32()
    assert matching_step(secret, code(secret, NOW), NOW) == int(NOW // 30)
    assert matching_step(secret, code(secret, NOW - 30), NOW) == int(NOW // 30) - 1
    assert matching_step(secret, code(secret, NOW - 90), NOW) is None
    assert matching_step(secret, "12345", NOW) is None
    uri = provisioning_uri(secret, "root")
    assert uri.startswith("otpauth://totp/smsgw:root?") and f"secret={secret}" in uri


async def test_enrolment_is_on_only_after_a_right_code(users: ConsoleUsers, clock: Clock) -> None:
    secret = await users.start_totp("root")
    pending = await users.get("root")
    assert pending is not None and pending.totp_secret is None
    assert not await users.confirm_totp("root", "000000" if code(secret, NOW) != "000000" else "1")
    assert await users.confirm_totp("root", code(secret, clock.now))
    on = await users.get("root")
    assert on is not None and on.totp_secret == secret and on.totp_pending is None


async def test_second_step_opens_only_with_a_fresh_code(users: ConsoleUsers, clock: Clock) -> None:
    secret = await enrolled(users, clock)
    pending_id = await password_step(users)
    assert await users.session(pending_id) is None, "the password alone is no session"
    outcome = await users.second_step(pending_id, code(secret, clock.now), "10.0.0.1")
    assert outcome.user is not None and outcome.user.name == "root"
    again = await users.second_step(pending_id, code(secret, clock.now), "10.0.0.1")
    assert again.user is None, "the pending login is used up"


async def test_a_code_is_good_once(users: ConsoleUsers, clock: Clock) -> None:
    secret = await enrolled(users, clock)
    used = code(secret, clock.now)
    assert (await users.second_step(await password_step(users), used, "10.0.0.1")).user
    replay = await users.second_step(await password_step(users), used, "10.0.0.2")
    assert replay.user is None and replay.attempt.verdict is LoginVerdict.REFUSED


async def test_the_enrolment_code_cannot_be_replayed_at_login(
    users: ConsoleUsers, clock: Clock
) -> None:
    secret = await users.start_totp("root")
    first = code(secret, clock.now)
    assert await users.confirm_totp("root", first)
    assert (await users.second_step(await password_step(users), first, "10.0.0.1")).user is None


async def test_wrong_codes_lock_out_even_the_right_one(users: ConsoleUsers, clock: Clock) -> None:
    secret = await enrolled(users, clock)
    pending_id = await password_step(users)
    right = code(secret, clock.now)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        assert (await users.second_step(pending_id, wrong, "10.0.0.9")).user is None
    locked = await users.second_step(pending_id, right, "10.0.0.9")
    assert locked.attempt.verdict is LoginVerdict.LOCKED and locked.user is None


async def test_the_code_wait_expires(users: ConsoleUsers, clock: Clock) -> None:
    secret = await enrolled(users, clock)
    pending_id = await password_step(users)
    clock.now += 301
    assert (await users.second_step(pending_id, code(secret, clock.now), "10.0.0.1")).user is None


async def test_clear_totp_goes_back_to_the_password_only(users: ConsoleUsers, clock: Clock) -> None:
    await enrolled(users, clock)
    await users.clear_totp("root")
    user = await users.get("root")
    assert isinstance(user, ConsoleUser) and user.totp_secret is None


async def test_wrong_codes_from_many_addresses_lock_the_code_step(
    users: ConsoleUsers, clock: Clock
) -> None:
    """The right password from each new address must not reset the count of
    wrong codes: a password thief with many addresses cannot guess on."""
    secret = await enrolled(users, clock)
    verdicts = []
    for n in range(6):
        source = f"10.0.{n}.1"
        outcome = await users.login("root", PASSWORD, source)
        assert outcome.user is not None
        pending = await users.await_code(outcome.user)
        wrong = await users.second_step(pending, "000000", source)
        verdicts.append(wrong.attempt.verdict)
    assert LoginVerdict.LOCKED in verdicts
    pending = await password_step(users)
    right = await users.second_step(pending, code(secret, clock.now), "10.0.9.1")
    assert right.attempt.verdict is LoginVerdict.LOCKED and right.user is None


async def test_a_password_reset_ends_the_sessions_opened_before(
    users: ConsoleUsers, clock: Clock
) -> None:
    user = await users.get("root")
    assert user is not None
    before, _ = await users.open_session(user)
    clock.now += 1
    await users.reset_password("root", "another good password")
    assert await users.session(before) is None
    clock.now += 1
    reset = await users.get("root")
    assert reset is not None
    after, _ = await users.open_session(reset)
    assert await users.session(after) is not None
