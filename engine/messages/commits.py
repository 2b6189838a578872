"""The commit point: customer submits held in the ledger in batches.

What arrives during one turn of the event loop is one `accept_many` call
(one task per batch, never per message); OTPs go in batches of their own,
which the ledger sends ahead of the rest, so an OTP never waits behind a
flood's batches. An account holding its limit at the commit point is
answered ESME_RTHROTTLED at once (`Admission`). A batch the ledger did not
answer is voided before anyone could send it.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable

import structlog

from engine.customers.admission import Admission
from engine.loop.batching import BackgroundTasks, TickBatcher
from engine.loop.repeated import RepeatedWarning
from engine.messages.lifecycle import RECORDED, Event
from engine.messages.message import MtMessage, Priority, pack_message
from engine.messages.metrics import PipelineMetrics
from engine.messages.refusals import REFUSALS, Refusal, Reply
from ledger.events import MessageState as Recorded
from ledger.model import AcceptOutcome, AcceptRequest, VoidOutcome
from ledger.protocol import Ledger
from ledger.retry import Backoff
from smpp.constants import CommandStatus as S

log = structlog.get_logger("smsgw.pipeline")

Commit = tuple[AcceptRequest, MtMessage, Reply]

_OTP = Priority.OTP
_ACCEPTED = AcceptOutcome.OK
_OK = int(S.ESME_ROK)
"""Read once: each enum member read off its class costs 0.1 us, per message."""


class Commits:
    def __init__(
        self,
        ledger: Ledger,
        admission: Admission,
        metrics: PipelineMetrics,
        counters: dict[str, int],
        tasks: BackgroundTasks,
        accepted: Callable[[MtMessage, str], None],
        described: Callable[[MtMessage, Recorded], None],
        retry: Backoff,
    ) -> None:
        """``accepted(message, outbox id)`` takes a committed message on (before
        its customer's answer); ``described`` records a message's first state."""
        self.ledger = ledger
        self.admission = admission
        self.metrics = metrics
        self.counters = counters
        self._accepted = accepted
        self._described = described
        self._batches: TickBatcher[Commit] = TickBatcher(self._commit, tasks)
        self._otp_batches: TickBatcher[Commit] = TickBatcher(
            functools.partial(self._commit, urgent=True), tasks
        )
        # Voiding is safe to repeat: while Redis is down it is retried.
        self._voids: TickBatcher[tuple[AcceptRequest, MtMessage]] = TickBatcher(
            self._void, tasks, retry=retry
        )
        self._ledger_down = RepeatedWarning(
            log, "ledger accept failed, batches voided", by="errors"
        )
        """Messages refused per error while the ledger is down: a line a
        minute, not one per batch."""
        self._voided = RepeatedWarning(log, "unanswered accepts voided", by="outcomes")

    def add(self, message: MtMessage, reply: Reply) -> None:
        """Hold and queue ``message`` in this iteration's batch, then ``reply``."""
        if not self.admission.enter(message.account):
            self.counters["refused"] += 1
            self.metrics.refused(message.account, Refusal.OVERLOADED)
            reply(S.ESME_RTHROTTLED, "", Refusal.OVERLOADED)
            return
        accept = AcceptRequest(
            message_id=message.id,
            account=message.account,
            parts=message.parts,
            price=message.price_per_part,
            payload=pack_message(message),
        )
        otp = message.priority is _OTP
        (self._otp_batches if otp else self._batches).add((accept, message, reply))

    async def _commit(self, batch: list[Commit], urgent: bool = False) -> None:
        self.metrics.ledger_batch.observe(len(batch))
        called = time.monotonic()
        try:
            results = await self.ledger.accept_many([item[0] for item in batch], urgent=urgent)
        except Exception as exc:
            self.admission.leave((m.account for _, m, _ in batch), time.monotonic() - called)
            # The script may still have run, or may run once a stalled Redis
            # resumes: the batch is voided before anyone could send it.
            log.debug("ledger accept failed", messages=len(batch), exc_info=True)
            self._ledger_down.add(type(exc).__name__, len(batch), error=str(exc))
            self.counters["refused"] += len(batch)
            for request, message, reply in batch:
                self.metrics.refused(message.account, Refusal.LEDGER_DOWN)
                # Temporary: nothing was accepted, and a Cluster slot moving
                # between nodes answers again within seconds.
                reply(S.ESME_RTHROTTLED, "", Refusal.LEDGER_DOWN)
                self._voids.add((request, message))
            return
        self.admission.leave((m.account for _, m, _ in batch), time.monotonic() - called)
        for (_, message, reply), result in zip(batch, results, strict=True):
            if result.outcome is _ACCEPTED:
                self.counters["accepted"] += 1
                self._accepted(message, result.outbox_id or "")
                reply(_OK, message.id, "")
            elif result.outcome is AcceptOutcome.DUPLICATE:
                reply(_OK, result.original_message_id or "", "")
            else:
                self.counters["refused"] += 1
                status, reason = REFUSALS[result.outcome]
                self.metrics.refused(message.account, reason)
                reply(status, "", reason)

    async def _void(self, batch: list[tuple[AcceptRequest, MtMessage]]) -> None:
        """Accepts whose reply never came: none of them may be sent or charged."""
        outcomes = await self.ledger.void_accepts([request for request, _ in batch])
        for (_, message), outcome in zip(batch, outcomes, strict=True):
            if outcome is VoidOutcome.VOIDED:  # its hold made it a message of the history
                self._described(message, RECORDED[Event.VOIDED])
        counts = Counter(outcome.value for outcome in outcomes)
        self.counters["voided"] += counts[VoidOutcome.VOIDED.value]
        for outcome, count in counts.items():
            self._voided.add(outcome, count)
