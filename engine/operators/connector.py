"""An operator connector: N binds draining one scheduler at a contracted rate.

Steps 5 and 6 of the life of a message (DESIGN.md). The connector keeps its
binds up (`engine.operators.bind`), shares one token bucket between them (the
operator counts submit_sm per second for the account, not per bind), splits
each message per the connector's policy (`engine.operators.submission`) and tells its
listener how every message ended on this connector:

- ``on_submitted``: every part was accepted; the operator's ids, one per part.
- ``on_failed``: a permanent error (``permanent`` true), or temporary errors
  (no response in time, or what the connector's error map calls temporary,
  `engine.operators.error_map`) on ``max_submit_attempts`` attempts or until
  the next backoff would end past the message's validity; the pipeline then
  fails over to the next connector. ``status`` is None when the last attempt
  got no response at all.
- ``on_expired``: ``expires_at`` passed before the message could leave; a
  message is never sent late, and its remaining parts are not either.

Delivery is at least once. A part is resent only if no response accepted it,
so the operator may see twice: a part whose submit_sm_resp was lost with a
dropped bind, and a part that timed out but had in fact been taken. A message
lost with a bind is put back at the front of its account's queue without
spending an attempt; one whose attempt failed temporarily waits its backoff
(a timer, not a task) and goes back the same way. A throttled one goes back
at once, spending no attempt, and waits for the connector's pace, which the
throttling slowed (`engine.operators.pacing`): one rate for all, no timer per
message, retried until its validity ends however long the operator throttles.
After `stop` every message the connector did not settle is in its scheduler
again, for `Scheduler.drain`.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable
from typing import Protocol

import msgspec

from engine.loop.throttle import TokenBucket
from engine.messages.message import MtMessage
from engine.operators.bind import BindState, OperatorBind
from engine.operators.connector_config import ConnectorConfig
from engine.operators.health import ConnectorHealth, HealthReport
from engine.operators.pacing import AdaptivePacing
from engine.operators.scheduler import Scheduler
from engine.operators.submission import Outcome, Submission, build_submits
from ledger.retry import Backoff, Jitter, RetryPolicy
from smpp import pdu as p
from smpp.aio import SessionLimits
from smpp.constants import CommandStatus as S
from smpp.smpptime import SmppTimeError

_MAX_REFERENCE = 0xFFFF
_TICKS_PER_TIMEOUT = 4
"""Timer resolution of a session: a quarter of its shortest timeout, at most 1 s."""


class ConnectorListener(Protocol):
    """What the pipeline does with the outcome of each message (DESIGN.md step 6)."""

    def on_submitted(
        self, connector_id: str, message: MtMessage, operator_message_ids: tuple[str, ...]
    ) -> None: ...

    def on_failed(
        self, connector_id: str, message: MtMessage, status: int | None, permanent: bool
    ) -> None: ...

    def on_expired(self, connector_id: str, message: MtMessage) -> None: ...

    def on_deliver(
        self, connector_id: str, pdu: p.DeliverSm | p.DataSm, answer: Callable[[int], None]
    ) -> None:
        """A receipt or MO from the operator; ``answer`` gets the command_status
        once its effect is committed."""
        ...


class ConnectorState(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot for metrics and the admin API; counters run from `start`."""

    id: str
    binds: tuple[BindState, ...]
    submitted: int
    failed: int
    expired: int
    retried: int
    """Attempts after the first: temporary errors and messages lost with a bind."""
    in_flight: int
    """submit_sm awaiting their response, every bind together."""
    waiting_retry: int
    queue_depth: int
    rate: float
    """submit_sm per second allowed now: ``throughput``, or less while throttled."""
    throttle_spells: int
    """Spells of operator throttling; each ends when the rate is full again."""
    throttled: int
    """Answers that said "slower"; never counted as attempts or failures."""
    health: HealthReport
    """The last ``health_window`` seconds, and whether routing uses it."""


class Connector:
    """One operator account: its binds, its scheduler and its throughput."""

    def __init__(
        self,
        config: ConnectorConfig,
        listener: ConnectorListener,
        *,
        scheduler: Scheduler | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        rng = rng or random.Random()
        self.config = config
        self.listener = listener
        # Not ``scheduler or ...``: an empty scheduler is falsy (it has a length).
        self.scheduler = Scheduler(config.queue_depth) if scheduler is None else scheduler
        self.bucket = TokenBucket(config.throughput, config.bucket_burst, clock)
        self.pacing = AdaptivePacing(
            self.bucket,
            floor=config.throttle_floor,
            decrease=config.throttle_decrease,
            interval=config.throttle_interval,
            recovery=config.throttle_recovery,
            clock=clock,
            name=config.id,
        )
        self.errors = config.error_map()
        self.health = ConnectorHealth(config, self.errors, clock)
        self.reconnect_backoff = Backoff(
            config.reconnect_delay, config.reconnect_delay_max, Jitter.EQUAL, rng
        )
        self.retry_policy = RetryPolicy(
            Backoff(config.retry_delay, config.retry_delay_max, Jitter.EQUAL, rng),
            config.max_submit_attempts,
        )
        shortest = min(config.response_timeout, config.enquire_link_interval)
        self.limits = SessionLimits(
            enquire_link_interval=config.enquire_link_interval,
            inactivity_timeout=config.inactivity_timeout,
            response_timeout=config.response_timeout,
            tick=min(1.0, shortest / _TICKS_PER_TIMEOUT),
        )
        self._wall_clock = wall_clock
        self._binds = [OperatorBind(self, index) for index in range(config.binds)]
        self._references = itertools.count(rng.randrange(_MAX_REFERENCE + 1))
        self._submissions: dict[str, Submission] = {}
        self._retry_timers: dict[str, tuple[asyncio.TimerHandle, Submission]] = {}
        self._requeued: list[Submission] = []
        self._throttled: list[Submission] = []
        self._tickets = itertools.count()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._submitted = self._failed = self._expired = self._retried = 0

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        """Start every bind (in the running loop); they connect on their own."""
        for bind in self._binds:
            bind.start()

    async def stop(self, drain_timeout: float) -> None:
        """Stop taking messages, wait up to ``drain_timeout`` seconds for the
        responses to what is on the wire, then unbind every bind."""
        self._stopping = True
        await asyncio.gather(*(bind.stop_sending() for bind in self._binds))
        try:
            async with asyncio.timeout(drain_timeout):
                await self._idle.wait()
        except TimeoutError:
            pass
        await asyncio.gather(*(bind.close() for bind in self._binds))
        for handle, submission in self._retry_timers.values():
            handle.cancel()
            self._requeued.append(submission)
        self._retry_timers.clear()
        self.put_back_requeued()
        self._put_back_throttled()
        self._submissions.clear()

    def state(self) -> ConnectorState:
        return ConnectorState(
            id=self.config.id,
            binds=tuple(bind.state for bind in self._binds),
            submitted=self._submitted,
            failed=self._failed,
            expired=self._expired,
            retried=self._retried,
            in_flight=self._in_flight,
            waiting_retry=len(self._retry_timers),
            queue_depth=len(self.scheduler),
            rate=self.pacing.rate,
            throttle_spells=self.pacing.spells,
            throttled=self.pacing.throttled,
            health=self.health.report(),
        )

    def has_begun(self, message_id: str) -> bool:
        """Whether this connector began sending the message: queued again for
        a retry, parts of it may be with the operator, so it may not change."""
        return message_id in self._submissions

    # -- for the binds ----------------------------------------------------

    def is_expired(self, message: MtMessage) -> bool:
        return 0 < message.expires_at <= self._wall_clock()

    async def token_available(self) -> None:
        """Wait until a submit_sm may leave, without taking the token."""
        while (delay := self.bucket.delay()) > 0:
            await asyncio.sleep(delay)

    async def take_token(self) -> None:
        while not self.bucket.try_take():
            await asyncio.sleep(self.bucket.delay())

    def begin(self, message: MtMessage) -> Submission | None:
        """The submission of a message just taken from the scheduler, or None
        if it ended here (expired, or not sendable to this operator)."""
        submission = self._submissions.get(message.id)
        if self.is_expired(message):
            self._submissions.pop(message.id, None)
            self._expired += 1
            self.listener.on_expired(self.config.id, message)
            return None
        if submission is None:
            try:
                submits = build_submits(message, self.config, next(self._references))
            except SmppTimeError:
                self._fail(message, S.ESME_RINVEXPIRY, permanent=True)
                return None
            except ValueError:
                self._fail(message, S.ESME_RINVMSGLEN, permanent=True)
                return None
            submission = Submission(message, submits, self.errors)
            self._submissions[message.id] = submission
        submission.ticket = next(self._tickets)
        return submission

    def end_dispatch(self, submission: Submission) -> None:
        submission.dispatching = False
        if submission.settled_attempt:
            self._settle(submission)

    def put_back_requeued(self) -> None:
        """Put back what a dropped bind (or `stop`) left unsent, in the order
        it was taken: its lost parts settle one by one, the message its sender
        held only when the sender is gone, so the bind calls this at its end."""
        self._push_front(self._requeued)

    def part_sent(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def part_done(self, submission: Submission, index: int, future: asyncio.Future[p.Pdu]) -> None:
        self._in_flight -= 1
        if not self._in_flight:
            self._idle.set()
        submission.record(index, future)
        if submission.settled_attempt:
            self._settle(submission)

    # -- outcomes ---------------------------------------------------------

    def _settle(self, submission: Submission) -> None:
        message = submission.message
        outcome = submission.outcome()
        if outcome is Outcome.SUBMITTED:
            # Nearly every message: tested first, as each enum member read off
            # its class costs 0.1 us (five were read before this one).
            del self._submissions[message.id]
            self.pacing.on_accepted()
            self._submitted += 1
            self.listener.on_submitted(self.config.id, message, submission.operator_message_ids)
            return
        if outcome is Outcome.REQUEUE or (outcome is Outcome.TEMPORARY and self._stopping):
            self._retried += 1
            self._requeued.append(submission)
            return
        if outcome is Outcome.THROTTLED:
            self.pacing.on_throttled(submission.throttled_status, submission.throttled)
            self._put_back_soon(submission)
            return
        if outcome is Outcome.TEMPORARY and self._retry_later(submission):
            return
        del self._submissions[message.id]
        if outcome is Outcome.EXPIRED:
            self._expired += 1
            self.listener.on_expired(self.config.id, message)
        elif outcome is Outcome.FAILED:
            assert submission.permanent_status is not None
            self._fail(message, submission.permanent_status, permanent=True)
        else:
            self._fail(message, submission.temporary_status, permanent=False)

    def _fail(self, message: MtMessage, status: int | None, *, permanent: bool) -> None:
        self._failed += 1
        self.listener.on_failed(self.config.id, message, status, permanent)

    def _retry_later(self, submission: Submission) -> bool:
        """Wait out the backoff after a temporary error, if the policy allows
        another attempt and it would still leave within the validity period;
        otherwise the message fails over now rather than expire waiting."""
        submission.attempts += 1
        delay = self.retry_policy.next_delay(submission.attempts)
        expires_at = submission.message.expires_at
        if delay is None or (expires_at and self._wall_clock() + delay >= expires_at):
            return False
        self._retried += 1
        message_id = submission.message.id
        handle = asyncio.get_running_loop().call_later(delay, self._retry, message_id)
        self._retry_timers[message_id] = (handle, submission)
        return True

    def _retry(self, message_id: str) -> None:
        _, submission = self._retry_timers.pop(message_id)
        self.scheduler.push_front(submission.message)

    def _put_back_soon(self, submission: Submission) -> None:
        """A throttled message goes back once this loop iteration has settled
        the rest of its window, so a burst of them keeps its order."""
        if not self._throttled:
            asyncio.get_running_loop().call_soon(self._put_back_throttled)
        self._throttled.append(submission)

    def _put_back_throttled(self) -> None:
        self._push_front(self._throttled)

    def _push_front(self, submissions: list[Submission]) -> None:
        """Empty ``submissions`` to the front of their queues, in the order
        the connector took them."""
        ordered = sorted(submissions, key=lambda submission: submission.ticket, reverse=True)
        submissions.clear()
        for submission in ordered:
            self.scheduler.push_front(submission.message)
