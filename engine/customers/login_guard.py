"""Failed logins, throttled per source address and per account.

A guessed SMPP password (at most 8 characters, §4.1.1) or Jasmin password
falls to a patient caller unless failures cost time: after a few free
failures each answer is delayed longer (doubling up to a ceiling), and a
source address or an account with too many recent failures is locked out
for a while, refused without even checking the password.

Unknown account names are counted exactly like known ones, so the lockout
tells a caller nothing about which accounts exist. An account-wide lockout
would let anyone lock a customer out by failing on purpose, so a source that
logged in to the account recently is not held by the account's lockout, only
by its own. IPv6 sources count per /64 (one host usually owns one).

Sans-IO (the h11 habit): the clock is injected, nothing sleeps or logs here;
`engine.customers.logins` applies the delays and logs the lockouts. State is
per shard (memory): a caller spread over N shards gets N times the
attempts, which the lockout still bounds.
"""

from __future__ import annotations

import ipaddress
import time
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Clock = Callable[[], float]
SETTLING = 1.0
"""Seconds a caller waits at most for attempts in flight that may still lock
it out; past that it is told to come back as if locked out."""


class SecurityConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[security]`` section: logins over SMPP and HTTP (docs/security.md)."""

    login_failures_before_delay: Annotated[int, Meta(ge=0)] = 3
    """Failures (per source and per account) answered at once; later ones wait."""
    login_delay: Annotated[float, Meta(ge=0, le=60)] = 1.0
    """Seconds the first delayed failure waits; each further failure doubles it."""
    login_delay_max: Annotated[float, Meta(ge=0, le=300)] = 10.0
    login_failures_before_lockout: Annotated[int, Meta(ge=1)] = 10
    """Recent failures after which the source (or account) is locked out."""
    lockout_seconds: Annotated[float, Meta(gt=0)] = 300.0
    failure_memory_seconds: Annotated[float, Meta(gt=0)] = 900.0
    """Seconds without a failure after which a source's or account's count starts over."""
    trusted_source_seconds: Annotated[float, Meta(ge=0)] = 86_400.0
    """Seconds a source that logged in to an account stays exempt from that
    account's lockout (not from its own)."""
    bind_failure_status: Literal["bind_fail", "distinct"] = "bind_fail"
    """``bind_fail``: an unknown system_id and a wrong password both get
    ESME_RBINDFAIL, so accounts cannot be enumerated; ``distinct``:
    ESME_RINVSYSID and ESME_RINVPASWD, for operators whose customers need them."""
    password_checks_at_once: Annotated[int, Meta(ge=1, le=64)] = 2
    """scrypt checks running at once on a shard (each takes a core for ~50 ms)."""
    failed_password_memory_seconds: Annotated[float, Meta(ge=0)] = 300.0
    """Seconds a failed (account, password) pair is answered from memory, without scrypt."""
    tracked_max: Annotated[int, Meta(ge=100)] = 100_000
    """Sources and account names whose failures are remembered at once."""


class Ticket(msgspec.Struct, frozen=True):
    """One login attempt between `LoginGuard.admit` and its outcome."""

    channel: str
    source: str
    account: str | None
    keys: tuple[str, ...]
    """The counters the attempt is held by."""
    retry_after: float = 0.0
    """0: admitted; else refused as locked out, for this many seconds."""
    settling: bool = False
    """Refused only because attempts in flight could still lock the caller
    out: worth admitting again once one of them settles."""


class Failure(msgspec.Struct, frozen=True):
    delay: float
    """Seconds to wait before answering the failure."""
    locked: tuple[str, ...]
    """Keys ("source 192.0.2.7", "account bank") whose lockout this failure started."""


class _Record:
    __slots__ = ("failures", "in_flight", "last", "locked_until")

    def __init__(self) -> None:
        self.failures = 0
        self.in_flight = 0
        self.last = 0.0
        self.locked_until = 0.0


class LoginGuard:
    def __init__(self, config: SecurityConfig, clock: Clock = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._records: dict[str, _Record] = {}
        self._trusted: dict[tuple[str, str], float] = {}
        """(account, source key) -> until when the pair skips the account's lockout."""
        self.counts: Counter[tuple[str, str]] = Counter()
        """(channel, outcome) -> attempts: failed, refused (while locked out),
        locked_out (lockouts started); for metrics."""

    def admit(self, channel: str, source: str, account: str | None) -> Ticket:
        """An attempt from ``source`` for ``account`` (None: no account is
        named, as with a bearer key). Attempts already in flight count as
        failures to come, so parallel connections cannot outrun the lockout."""
        now = self._clock()
        source_key = f"source {source_network(source)}"
        keys = [source_key]
        if account is not None and not self._is_trusted(account, source_key, now):
            keys.append(f"account {account}")
        wait = max(self._locked_for(key, now) for key in keys)
        if wait > 0:
            settling = not any(
                self._records[key].locked_until > now for key in keys if key in self._records
            )
            if not settling:
                self.counts[channel, "refused"] += 1
            return Ticket(channel, source_key, account, (), retry_after=wait, settling=settling)
        for key in keys:
            self._record(key, now).in_flight += 1
        return Ticket(channel, source_key, account, tuple(keys))

    def failed(self, ticket: Ticket) -> Failure:
        now = self._clock()
        worst = 0
        locked: list[str] = []
        for key in ticket.keys:
            record = self._record(key, now)
            record.in_flight = max(0, record.in_flight - 1)
            if now - record.last > self.config.failure_memory_seconds:
                record.failures = 0
            record.failures += 1
            record.last = now
            worst = max(worst, record.failures)
            if record.failures >= self.config.login_failures_before_lockout:
                record.failures = 0
                record.locked_until = now + self.config.lockout_seconds
                locked.append(key)
        self.counts[ticket.channel, "failed"] += 1
        self.counts[ticket.channel, "locked_out"] += len(locked)
        return Failure(self._delay(worst), tuple(locked))

    def succeeded(self, ticket: Ticket) -> None:
        """The account's count starts over and the source is trusted for it;
        the source's own count stays (one valid account must not let a source
        reset its guesses at others)."""
        now = self._clock()
        self.abandoned(ticket)
        if ticket.account is None:
            return
        record = self._records.get(f"account {ticket.account}")
        if record is not None:
            record.failures = 0
        if len(self._trusted) >= self.config.tracked_max:
            self._trusted = {pair: t for pair, t in self._trusted.items() if t > now}
            if len(self._trusted) >= self.config.tracked_max:
                self._trusted.pop(next(iter(self._trusted)))
        self._trusted[ticket.account, ticket.source] = now + self.config.trusted_source_seconds

    def abandoned(self, ticket: Ticket) -> None:
        """The check could not be made (a store did not answer): neither outcome."""
        for key in ticket.keys:
            record = self._records.get(key)
            if record is not None:
                record.in_flight = max(0, record.in_flight - 1)

    def _is_trusted(self, account: str, source_key: str, now: float) -> bool:
        return self._trusted.get((account, source_key), 0.0) > now

    def _locked_for(self, key: str, now: float) -> float:
        record = self._records.get(key)
        if record is None:
            return 0.0
        if record.locked_until > now:
            return record.locked_until - now
        failures = record.failures if now - record.last <= self.config.failure_memory_seconds else 0
        if failures + record.in_flight >= self.config.login_failures_before_lockout:
            return SETTLING
        return 0.0

    def _delay(self, failures: int) -> float:
        free = self.config.login_failures_before_delay
        if failures <= free:
            return 0.0
        return min(
            self.config.login_delay_max, self.config.login_delay * 2 ** (failures - free - 1)
        )

    def _record(self, key: str, now: float) -> _Record:
        record = self._records.get(key)
        if record is None:
            if len(self._records) >= self.config.tracked_max:
                self._forget(now)
            record = self._records[key] = _Record()
        return record

    def _forget(self, now: float) -> None:
        """Room for one more: drop what no longer matters, else the oldest idle record."""
        memory = self.config.failure_memory_seconds
        self._records = {
            key: r
            for key, r in self._records.items()
            if r.in_flight or r.locked_until > now or now - r.last <= memory
        }
        if len(self._records) >= self.config.tracked_max:
            idle = next((k for k, r in self._records.items() if not r.in_flight), None)
            if idle is not None:
                del self._records[idle]


@lru_cache(maxsize=4096)
def source_network(address: str) -> str:
    """What one caller is: its IPv4 address, or its IPv6 /64. Cached: a
    gateway's callers are a few customers' servers, asking again and again."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
