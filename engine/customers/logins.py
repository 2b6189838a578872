"""One login attempt on this shard, throttled: the async side of `LoginGuard`.

Every door that checks a secret (SMPP binds, API keys, the admin key, Jasmin's
username and password) goes through `Logins.attempt`, so one caller failing
at several doors is one caller: its failures add up, its answers slow down,
and it is locked out of all of them at once. Each lockout is logged, as
counts per source or account at most once a minute while they keep coming,
and counted (`collect`: the shard's registry reads it at scrape time).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import NamedTuple

import structlog
from prometheus_client.core import CounterMetricFamily, Metric

from engine.customers.login_guard import SETTLING, Clock, LoginGuard, SecurityConfig, Ticket
from engine.customers.passwords import PasswordChecker
from engine.loop.repeated import RepeatedWarning

log = structlog.get_logger("smsgw.security")

Sleep = Callable[[float], Awaitable[object]]


class LoginVerdict(enum.Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    """The secret was wrong (answered after the guard's delay)."""
    LOCKED = "locked"
    """Not checked: the source or account is locked out."""


class LoginAttempt(NamedTuple):
    verdict: LoginVerdict
    retry_after: float = 0.0
    """Seconds until a locked-out caller is heard again."""


class Logins:
    def __init__(
        self, config: SecurityConfig, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.config = config
        self.guard = LoginGuard(config, clock)
        self.passwords = PasswordChecker(
            config.password_checks_at_once, config.failed_password_memory_seconds, clock
        )
        self._sleep = sleep
        self._settled = asyncio.Event()
        self._lockouts = RepeatedWarning(log, "logins locked out", by="lockouts")

    async def attempt(
        self,
        channel: str,
        source: str,
        account: str | None,
        check: Callable[[], Awaitable[bool]],
    ) -> LoginAttempt:
        """Runs ``check`` (does the secret match?) unless ``source`` or
        ``account`` is locked out. ``channel`` names the door (smpp, api_key,
        admin, jasmin) in metrics and logs. An exception from ``check`` (a
        store that does not answer) passes through and counts as nothing."""
        ticket = await self._admit(channel, source, account)
        if ticket.retry_after:
            return LoginAttempt(LoginVerdict.LOCKED, ticket.retry_after)
        try:
            matched = await check()
        except BaseException:
            self.guard.abandoned(ticket)
            self._settle()
            raise
        if matched:
            self.guard.succeeded(ticket)
            self._settle()
            return LoginAttempt(LoginVerdict.ACCEPTED)
        failure = self.guard.failed(ticket)
        self._settle()
        for key in failure.locked:
            self._lockouts.add(key, channel=channel, seconds=self.config.lockout_seconds)
        if failure.delay:
            await self._sleep(failure.delay)
        return LoginAttempt(LoginVerdict.REFUSED)

    async def _admit(self, channel: str, source: str, account: str | None) -> Ticket:
        """The guard's ticket; while only attempts in flight stand in the way
        (a client opening many connections at once), wait for them to settle
        rather than refuse: a burst of good logins is not a lockout, and
        parallel guesses still cannot outrun the count."""
        ticket = self.guard.admit(channel, source, account)
        if not ticket.settling:
            return ticket
        try:
            async with asyncio.timeout(SETTLING):
                while ticket.settling:
                    await self._settled.wait()
                    ticket = self.guard.admit(channel, source, account)
        except TimeoutError:
            self.guard.counts[channel, "refused"] += 1
        return ticket

    def _settle(self) -> None:
        """An attempt ended: whoever waits on attempts in flight looks again."""
        self._settled.set()
        self._settled = asyncio.Event()

    def close(self) -> None:
        self._lockouts.close()

    def collect(self) -> Iterator[Metric]:
        failures = CounterMetricFamily(
            "smsgw_login_failures",
            "Failed logins by channel (smpp, api_key, admin, jasmin) and outcome: failed "
            "(wrong secret), refused (while locked out), locked_out (lockouts started).",
            labels=["channel", "outcome"],
        )
        for (channel, outcome), count in sorted(self.guard.counts.items()):
            failures.add_metric([channel, outcome], count)
        yield failures
        checks = CounterMetricFamily(
            "smsgw_password_checks",
            "Password checks: checked (scrypt ran), remembered (a recent failure "
            "answered from memory, no scrypt).",
            labels=["outcome"],
        )
        for outcome, count in sorted(self.passwords.counts.items()):
            checks.add_metric([outcome], count)
        yield checks
