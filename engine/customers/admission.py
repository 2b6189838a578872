"""Admission at the commit point: one account's flood cannot make another wait.

Every accepted message waits at the commit point (the ledger's batched Lua
call) behind the messages submitted before it, whoever sent them. When Redis
or the CPU saturates, the commit point slows down, and a customer that sends
as fast as its windows allow keeps thousands of messages there: another
account's OTP then waits behind all of them (bench.fairness: 0.9 s p50 with a
flood of 4 binds x 500 in flight). By Little's law the wait is the messages
ahead divided by the commit rate, whatever saturates.

So each account may have at most ``limit`` messages between its submit and
the ledger's answer; past it, its next submits are shed at once
(ESME_RTHROTTLED, HTTP 429 with Retry-After), before they cost routing or a
ledger call. The limit follows two delays, as TCP's window follows loss: how
long the ledger took to answer an accept batch (Redis saturated), and how late
the event loop runs a timer (`LoopLag`: the engine's CPU saturated, every
iteration long with admitted work). A delay over ``target_delay`` cuts the
limit in proportion (target / delay, at most by half; once per such delay,
not once per observation); a timely one raises it by one; it stays between
``pending_floor`` and ``pending_per_account``. Another account's message then
waits behind about ``target_delay`` of the flood. An account with fewer than
``pending_floor`` messages there, as an OTP sender at a steady rate, is within
its share and never shed; nor is an account while no other account has sent
anything for ``contention_window`` seconds: alone, it waits for nobody but
itself, and shedding it would only shrink its batches and cost CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

import msgspec
import structlog
from prometheus_client.core import GaugeMetricFamily, Metric

from engine.loop.lag import LoopLag
from engine.loop.repeated import RepeatedWarning
from engine.messages.metrics import counter_family

log = structlog.get_logger("smsgw.admission")

PENDING = "pending"
"""The shed reason: the account has its limit of messages at the commit point."""
_LEAST_FACTOR = 0.5
"""The deepest one cut goes: a single slow batch (a GC pause) costs at most half."""
_INCREASE = 1.0
LAG_INTERVAL = 0.01
"""Seconds between two looks at the event loop's lateness (100 timers a second)."""


class AdmissionLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[limits.admission]``: how much of the commit point one account may hold."""

    target_delay: float = 0.01
    """Seconds an accept batch may take from its ledger call to its answer, and
    the event loop may run a timer late, before every account's limit of
    messages at the commit point shrinks: about what another account's
    message waits behind a flood. bench.fairness on 2 cores: 0.02 gave an
    OTP 55 ms p99 behind a flood taking 7,000/s; 0.01, 30 ms and 5,800/s."""
    pending_per_account: int = 250
    """The most messages of one account submitted and not yet answered by the
    ledger, while the commit point keeps up; past the limit the account's
    submits are answered ESME_RTHROTTLED / HTTP 429 until some are answered."""
    pending_floor: int = 50
    """The least the limit shrinks to: an account with fewer messages than
    this at the commit point is never shed."""
    contention_window: float = 1.0
    """Seconds since another account's last submit during which an account
    over its limit is shed; an account alone for longer is not held to it."""
    pause: float = 0.01
    """Seconds a customer SMPP session is not read after one of its submits
    was shed; what it sent meanwhile waits (unread, or held in order) instead
    of being decoded and refused as fast as it resends. 0 answers every
    submit over the limit ESME_RTHROTTLED."""

    def __post_init__(self) -> None:
        if not 1 <= self.pending_floor <= self.pending_per_account:
            raise ValueError("need 1 <= pending_floor <= pending_per_account")
        if not 0 < self.target_delay <= 10:
            raise ValueError("target_delay must be between 0 and 10 seconds")
        if not 0 < self.contention_window <= 60:
            raise ValueError("contention_window must be between 0 and 60 seconds")
        if not 0 <= self.pause <= 1:
            raise ValueError("pause must be between 0 and 1 second")


class Admission:
    """Each account's messages at the commit point, and the limit they are held to.

    ``clock`` (monotonic seconds) spaces the limit's cuts; tests pass a fake one.
    """

    def __init__(
        self, limits: AdmissionLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits = limits or AdmissionLimits()
        self.limit = float(limits.pending_per_account)
        """Messages one account may have at the commit point now."""
        self._clock = clock
        self._cut_at = clock()
        self._pending: dict[str, int] = {}
        self._floor = limits.pending_floor
        self._latest = ""
        """The account that submitted last, at ``_latest_at``: two attributes,
        not a tuple, as one is built per message otherwise."""
        self._latest_at = float("-inf")
        self._other: float = float("-inf")
        """The last submit of an account other than the latest submitter: while
        it is within ``contention_window`` of now, accounts share the commit point."""
        self._shed: dict[tuple[str, str], int] = {}
        """(account, reason) -> submits shed, for ``smsgw_admission_shed_total``."""
        self._warning = RepeatedWarning(log, "submits shed at saturation", by="accounts")
        self._lag = LoopLag(LAG_INTERVAL, self.observe)

    def pending(self, account: str) -> int:
        """Messages of ``account`` at the commit point now."""
        return self._pending.get(account, 0)

    def admits(self, account: str) -> bool:
        """Whether a submit of ``account`` would be admitted now (nothing counted)."""
        pending = self._pending.get(account, 0)
        return pending < self.limit or pending < self._floor or not self._contended(account)

    def _contended(self, account: str) -> bool:
        """Another account submitted within ``contention_window``."""
        now = self._clock()
        window = self.limits.contention_window
        return (self._latest != account and now - self._latest_at < window) or (
            now - self._other < window
        )

    def enter(self, account: str) -> bool:
        """Count one message of ``account`` in; or shed it (counted) and False.
        The test of `admits` is written out here: it runs for every message."""
        pending = self._pending.get(account, 0)
        if pending >= self.limit and pending >= self._floor and self._contended(account):
            self.shed(account)
            return False
        if self._latest != account:
            self._other = self._latest_at  # the previous account's last submit
            self._latest = account
        self._latest_at = self._clock()
        self._pending[account] = pending + 1
        return True

    def leave(self, accounts: Iterable[str], latency: float) -> None:
        """The ledger answered one batch (an account per message) ``latency``
        seconds after it was called: the limit follows that latency."""
        counts = self._pending
        for account in accounts:
            left = counts[account] - 1
            if left:
                counts[account] = left
            else:
                del counts[account]
        self.observe(latency)

    def observe(self, delay: float) -> None:
        """A delay seen by a message (a ledger answer, the loop's lateness)."""
        limits = self.limits
        if delay > limits.target_delay:
            now = self._clock()
            if now - self._cut_at >= delay:  # one cut per such delay, not per observation
                self._cut_at = now
                factor = max(_LEAST_FACTOR, limits.target_delay / delay)
                self.limit = max(float(limits.pending_floor), self.limit * factor)
        elif self.limit < limits.pending_per_account:
            self.limit = min(float(limits.pending_per_account), self.limit + _INCREASE)

    def start(self) -> None:
        """Follow the event loop's lateness too (the gateway's start)."""
        self._lag.start()

    def stop(self) -> None:
        self._lag.stop()

    def shed(self, account: str, reason: str = PENDING) -> None:
        """Count a submit of ``account`` refused by admission."""
        key = (account, reason)
        self._shed[key] = self._shed.get(key, 0) + 1
        self._warning.add(account, reason=reason, limit=round(self.limit))

    def collect(self) -> Iterator[Metric]:
        yield counter_family(
            "smsgw_admission_shed",
            "Submits refused at once (ESME_RTHROTTLED, HTTP 429) because their "
            "account had its limit of messages at the commit point.",
            ("account", "reason"),
            self._shed,
        )
        yield GaugeMetricFamily(
            "smsgw_admission_limit",
            "Messages one account may have at the commit point now (it shrinks "
            "while the ledger answers, or the event loop runs, later than "
            "[limits.admission] target_delay).",
            value=self.limit,
        )
