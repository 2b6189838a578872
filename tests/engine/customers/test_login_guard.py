"""The login throttle: its rules on a fake clock, its async side with a fake
sleep, and the password checker's memory and concurrency bound."""

from __future__ import annotations

import asyncio
import threading

import pytest
from structlog.testing import capture_logs

from engine.customers import passwords
from engine.customers.login_guard import LoginGuard, SecurityConfig, source_network
from engine.customers.logins import LoginAttempt, Logins, LoginVerdict
from engine.customers.passwords import PasswordChecker, hash_password

CONFIG = SecurityConfig(
    login_failures_before_delay=2,
    login_delay=1.0,
    login_delay_max=3.0,
    login_failures_before_lockout=5,
    lockout_seconds=60.0,
    failure_memory_seconds=600.0,
    trusted_source_seconds=3600.0,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(guard: LoginGuard, source: str = "192.0.2.1", account: str | None = "bank") -> float:
    """One failed attempt; its delay (the attempt must be admitted)."""
    ticket = guard.admit("smpp", source, account)
    assert ticket.retry_after == 0
    return guard.failed(ticket).delay


def test_failures_wait_longer_each_time_up_to_the_ceiling() -> None:
    guard = LoginGuard(CONFIG, Clock())
    delays = [fail(guard, account=f"name-{i}") for i in range(4)]
    assert delays == [0.0, 0.0, 1.0, 2.0]  # two free, then doubling (per source)
    guard = LoginGuard(SecurityConfig(login_failures_before_lockout=100, login_delay_max=3.0))
    assert max(fail(guard, account=f"n{i}") for i in range(20)) == 3.0


def test_a_source_is_locked_out_then_heard_again() -> None:
    clock = Clock()
    guard = LoginGuard(CONFIG, clock)
    ticket = None
    for i in range(5):
        ticket = guard.admit("smpp", "192.0.2.1", f"guess-{i}")
        failure = guard.failed(ticket)
    assert failure.locked == ("source 192.0.2.1",)
    refused = guard.admit("smpp", "192.0.2.1", "bank")
    assert refused.retry_after == 60.0 and refused.keys == ()
    clock.now += 30
    assert guard.admit("jasmin", "192.0.2.1", "shop").retry_after == 30.0
    assert guard.admit("smpp", "192.0.2.2", "bank").retry_after == 0  # another source
    clock.now += 30
    assert guard.admit("smpp", "192.0.2.1", "bank").retry_after == 0
    assert guard.counts == {
        ("smpp", "failed"): 5,
        ("smpp", "locked_out"): 1,
        ("smpp", "refused"): 1,
        ("jasmin", "refused"): 1,
    }


def test_an_account_is_locked_out_from_every_source_but_its_own() -> None:
    guard = LoginGuard(CONFIG, Clock())
    guard.succeeded(guard.admit("smpp", "198.51.100.9", "bank"))  # the customer's own host
    for i in range(5):
        failure = guard.failed(guard.admit("smpp", f"192.0.2.{i}", "bank"))
    assert failure.locked == ("account bank",)
    assert guard.admit("smpp", "192.0.2.200", "bank").retry_after == 60.0
    assert guard.admit("smpp", "192.0.2.200", "shop").retry_after == 0
    assert guard.admit("smpp", "198.51.100.9", "bank").retry_after == 0


def test_unknown_and_known_names_count_alike() -> None:
    """The guard never learns which names exist: an unknown one locks out
    exactly as a real one does, so a lockout tells nothing."""
    guard = LoginGuard(CONFIG, Clock())
    for name in ("bank", "nobody"):
        locked = [guard.failed(guard.admit("smpp", f"192.0.2.{i}", name)).locked for i in range(5)]
        assert locked[-1] == (f"account {name}",)


def test_attempts_in_flight_count_against_the_lockout() -> None:
    guard = LoginGuard(CONFIG, Clock())
    tickets = [guard.admit("smpp", "192.0.2.1", "bank") for _ in range(5)]
    assert all(t.retry_after == 0 for t in tickets)
    assert guard.admit("smpp", "192.0.2.1", "bank").retry_after > 0  # parallel guesses wait
    guard.abandoned(tickets[0])
    assert guard.admit("smpp", "192.0.2.1", "bank").retry_after == 0


def test_a_success_does_not_reset_the_source() -> None:
    """One valid account must not let a source guess at the others forever."""
    guard = LoginGuard(CONFIG, Clock())
    for i in range(4):
        fail(guard, account=f"victim-{i}")
    guard.succeeded(guard.admit("smpp", "192.0.2.1", "mine"))
    assert guard.failed(guard.admit("smpp", "192.0.2.1", "victim-9")).locked == (
        "source 192.0.2.1",
    )


def test_old_failures_are_forgotten() -> None:
    clock = Clock()
    guard = LoginGuard(CONFIG, clock)
    for _ in range(4):
        fail(guard)
    clock.now += 601
    assert fail(guard) == 0.0  # counted from one again: free


def test_memory_is_bounded() -> None:
    guard = LoginGuard(SecurityConfig(tracked_max=100), Clock())
    for i in range(1000):
        fail(guard, source=f"10.0.{i // 256}.{i % 256}", account=None)
    assert len(guard._records) <= 100


def test_ipv6_sources_count_per_64() -> None:
    assert source_network("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert source_network("::ffff:192.0.2.7") == "192.0.2.7"
    assert source_network("192.0.2.7") == "192.0.2.7"
    guard = LoginGuard(CONFIG, Clock())
    for i in range(5):
        fail(guard, source=f"2001:db8:1:2::{i + 1}", account=f"n{i}")
    assert guard.admit("smpp", "2001:db8:1:2:ffff::1", "x").retry_after > 0


async def test_logins_sleep_on_failures_and_log_each_lockout_once() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def wrong() -> bool:
        return False

    logins = Logins(CONFIG, Clock(), sleep)
    with capture_logs() as logs:
        answers = [await logins.attempt("jasmin", "192.0.2.1", "bank", wrong) for _ in range(7)]
        await asyncio.sleep(0)  # the lockout line is told on the next loop turn
    logins.close()
    assert [a.verdict for a in answers] == [LoginVerdict.REFUSED] * 5 + [LoginVerdict.LOCKED] * 2
    assert answers[-1] == LoginAttempt(LoginVerdict.LOCKED, 60.0)
    assert slept == [1.0, 2.0, 3.0]
    [line] = [entry for entry in logs if entry["event"] == "logins locked out"]
    assert line["lockouts"] == {"source 192.0.2.1": 1, "account bank": 1}


async def test_a_burst_of_good_logins_from_one_source_waits_its_turn_instead_of_failing() -> None:
    """Twenty connections opened at once by one client, more than the lockout
    count: each waits for attempts in flight to settle and every one gets in."""
    logins = Logins(CONFIG, Clock())
    started = 0

    async def right() -> bool:
        nonlocal started
        started += 1
        await asyncio.sleep(0.001)
        return True

    answers = await asyncio.gather(
        *(logins.attempt("api_key", "192.0.2.1", None, right) for _ in range(20))
    )
    logins.close()
    assert [a.verdict for a in answers] == [LoginVerdict.ACCEPTED] * 20
    assert started == 20
    assert logins.guard.counts == {}


async def test_parallel_wrong_guesses_are_still_locked_out() -> None:
    async def no_sleep(seconds: float) -> None:
        pass

    logins = Logins(CONFIG, Clock(), no_sleep)

    async def wrong() -> bool:
        await asyncio.sleep(0.001)
        return False

    answers = await asyncio.gather(
        *(logins.attempt("jasmin", "192.0.2.1", "bank", wrong) for _ in range(20))
    )
    logins.close()
    verdicts = [a.verdict for a in answers]
    assert verdicts.count(LoginVerdict.REFUSED) == CONFIG.login_failures_before_lockout
    assert verdicts.count(LoginVerdict.LOCKED) == 20 - CONFIG.login_failures_before_lockout


async def test_a_check_that_raises_counts_as_nothing() -> None:
    logins = Logins(CONFIG, Clock())

    async def unavailable() -> bool:
        raise ConnectionError("key store down")

    for _ in range(10):
        with pytest.raises(ConnectionError):
            await logins.attempt("api_key", "192.0.2.1", None, unavailable)
    assert logins.guard.counts == {}
    assert logins.guard.admit("api_key", "192.0.2.1", None).retry_after == 0


CHEAP = hash_password("secret", log2_n=4)


async def test_a_failed_password_is_answered_from_memory() -> None:
    clock = Clock()
    checker = PasswordChecker(at_once=1, remember_failures=300.0, clock=clock)
    same = [checker.verify("bank", "wrong", CHEAP) for _ in range(3)]  # twins wait for the slot
    assert await asyncio.gather(*same) == [False] * 3
    assert await checker.verify("bank", "wrong", CHEAP) is False
    assert checker.counts == {"checked": 1, "remembered": 3}
    assert await checker.verify("bank", "secret", CHEAP) is True
    clock.now += 301
    assert await checker.verify("bank", "wrong", CHEAP) is False
    assert checker.counts["checked"] == 3


async def test_an_unknown_account_costs_a_check_and_never_matches() -> None:
    checker = PasswordChecker(at_once=1, remember_failures=300.0)
    assert await checker.verify("nobody", "", None) is False
    assert checker.counts == {"checked": 1}


async def test_checks_run_a_few_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    entered = threading.Semaphore(0)
    gate = threading.Event()

    def slow_verify(password: str, stored: str) -> bool:
        entered.release()
        gate.wait(10)
        return False

    monkeypatch.setattr(passwords, "verify_password", slow_verify)
    checker = PasswordChecker(at_once=2, remember_failures=300.0)
    checks = [asyncio.create_task(checker.verify("bank", f"guess-{i}", CHEAP)) for i in range(5)]
    for _ in range(2):
        await asyncio.to_thread(entered.acquire)
    assert checker.counts["checked"] == 2  # the other three wait for a slot
    gate.set()
    assert await asyncio.gather(*checks) == [False] * 5
    assert checker.counts["checked"] == 5
