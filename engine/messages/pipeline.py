"""The message pipeline of one shard: commit, schedule, settle, report.

Customer submits arrive synchronously from the SMPP adapter; they are routed
at once and committed to the ledger in batches (`Commits`), one `accept_many` per event
loop iteration (one task per batch, never per message). Connectors report
back through the listener methods; settlements and incoming receipts are
batched the same way, so Redis sees a few calls per iteration, not per message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import msgspec
import structlog

from engine.billing.pricing import NO_RATES, Pricer
from engine.customers.accounts import AccountConfig
from engine.customers.admission import Admission
from engine.customers.delivery import CustomerDelivery
from engine.customers.pending import Delivery
from engine.customers.receipts import receipt_pdu, submitted_part
from engine.loop.batching import BackgroundTasks, TickBatcher
from engine.messages.commits import Commits
from engine.messages.history import MessageHistory
from engine.messages.ids import IdFormat
from engine.messages.intake import (
    NO_OPTIONS,
    Refused,
    Screen,
    SubmitOptions,
    ValidityLimits,
    prepare_mt,
    routed_again,
)
from engine.messages.lifecycle import RECORDED, RECORDED_OF_RECEIPT, Event
from engine.messages.message import MtMessage
from engine.messages.metrics import PipelineMetrics
from engine.messages.mo import MoIntake
from engine.messages.outbox import OutboxEntries
from engine.messages.receipt_map import ReceiptMap
from engine.messages.receipt_matcher import (
    Answer,
    MatchedReceipt,
    ReceiptIdRules,
    ReceiptLimits,
    ReceiptMatcher,
)
from engine.messages.refusals import Reply
from engine.messages.reports import INTERMEDIATE, CallbackSink, Reports, forwarded_err
from engine.messages.states import KnownState, RecentStates
from engine.messages.waiters import MessageWaiters
from engine.operators.scheduler import Scheduler, SchedulerFull
from ledger.events import MessageState as Recorded
from ledger.protocol import Ledger
from ledger.retry import Backoff, Jitter
from router import RoutingTable
from smpp import pdu as p
from smpp.constants import EsmClass
from smpp.receipt import MessageState

log = structlog.get_logger("smsgw.pipeline")

_RECENT_STATES = 1_000_000
"""Messages whose state query_sm can answer on this shard (about 100 MB at most)."""

_ACCEPTED = RECORDED[Event.ACCEPTED]
_SUBMITTED = RECORDED[Event.SUBMITTED]
"""The states of the two events of every message, looked up once."""
_ENROUTE = MessageState.ENROUTE
"""Read once: an enum member read off its class costs 0.1 us, per message."""

SourceCheck = Callable[[AccountConfig, p.SubmitSm], p.SubmitSm | Refused]
"""The request as it goes on (its source maybe rewritten), or why it is refused."""

_SETTLE_RETRY = Backoff(1.0, 1.0, Jitter.NONE)
"""A settlement or release whose backend failed is tried again a second later."""


# Plain ints: IntFlag operands send every `&` through enum's slow Python methods.
_RECEIPT = int(EsmClass.DELIVERY_RECEIPT | EsmClass.INTERMEDIATE_NOTIFICATION)
"""esm_class bits of an operator's deliver_sm or data_sm that make it a receipt (§5.2.12)."""


class Pipeline:
    def __init__(
        self,
        *,
        ledger: Ledger,
        table: RoutingTable,
        schedulers: dict[str, Scheduler],
        receipts: ReceiptMap,
        delivery: CustomerDelivery,
        accounts: dict[str, AccountConfig],
        validity: ValidityLimits,
        new_id: Callable[[IdFormat], str],
        metrics: PipelineMetrics,
        receipt_rules: dict[str, ReceiptIdRules] | None = None,
        receipt_limits: ReceiptLimits | None = None,
        admission: Admission | None = None,
        pricer: Pricer | None = None,
    ) -> None:
        self.ledger = ledger
        self.pricer = pricer or Pricer(NO_RATES)
        """Converts the router's prices to the account's currency (docs/billing.md)."""
        self.screens: list[Screen] = []
        """Checks every routed message passes before it is held, in order."""
        self.source_check: SourceCheck | None = None
        """Refuses or rewrites a message's source before it is routed (the
        sender-ID registry, docs/senders.md); None: any source goes."""
        self.admission = admission or Admission()
        """Sheds an account's submits while it has its limit at the commit point."""
        self.table = table
        self.schedulers = schedulers
        self.delivery = delivery
        self.accounts = accounts
        self.validity = validity
        self._new_id = new_id
        self.metrics = metrics
        self.history = MessageHistory(delivery)
        self.outbox = OutboxEntries(ledger)
        self.states = RecentStates(_RECENT_STATES)
        self.tasks = BackgroundTasks()
        # Settling and releasing are safe to repeat (captures, releases and
        # acknowledgements are idempotent): while Redis is down they are retried.
        self._settlements: TickBatcher[tuple[str, MtMessage, tuple[str, ...]]] = TickBatcher(
            self._settle, self.tasks, retry=_SETTLE_RETRY
        )
        self._releases: TickBatcher[tuple[MtMessage, MessageState, str]] = TickBatcher(
            self._release, self.tasks, retry=_SETTLE_RETRY
        )
        self.matcher = ReceiptMatcher(
            receipts, self.tasks, self._apply_receipts, receipt_rules, receipt_limits
        )
        self.usable: frozenset[str] | None = None
        """Connectors with a live bind, refreshed by the gateway; None: all."""
        self.waiters = MessageWaiters()
        self.reports = Reports(self.states, self.waiters)
        """Sends HTTP customers' webhooks; set by the HTTP front."""
        self.begun: Callable[[str], bool] = _nothing_begun
        """Whether a connector began sending a message id; set by the gateway."""
        self.receipt_seen: Callable[[str, MessageState], None] | None = None
        """Told each matched receipt's connector and state (its health); set by the gateway."""
        self._scheduled: dict[str, tuple[asyncio.TimerHandle, MtMessage]] = {}
        """Accepted messages waiting for their scheduled time (they are in the outbox)."""
        self.counters = dict.fromkeys(
            ("accepted", "refused", "voided", "submitted", "failed", "receipts", "mo"), 0
        )
        self.mo = MoIntake(table, accounts, delivery, validity.default, self.tasks, self.counters)
        self.commits = Commits(
            ledger,
            self.admission,
            metrics,
            self.counters,
            self.tasks,
            self._accepted,
            self._record_described,
            _SETTLE_RETRY,
        )

    # -- accept ---------------------------------------------------------------

    def submit(
        self,
        account: AccountConfig,
        request: p.SubmitSm,
        reply: Reply,
        options: SubmitOptions = NO_OPTIONS,
    ) -> None:
        """Route now, commit in this iteration's batch, then ``reply``."""
        prepared = self.prepare(account, request, options)
        if isinstance(prepared, Refused):
            reply(prepared.status, "", prepared.reason)
            return
        self.commit(prepared, reply)

    def prepare(
        self, account: AccountConfig, request: p.SubmitSm, options: SubmitOptions = NO_OPTIONS
    ) -> MtMessage | Refused:
        """The routed, priced message with its id, or why it is refused (nothing held)."""
        checked = request if self.source_check is None else self.source_check(account, request)
        if isinstance(checked, Refused):
            prepared: MtMessage | Refused = checked
        else:
            prepared = prepare_mt(
                checked,
                account,
                self.table,
                self.pricer,
                self._new_id(account.message_id_format),
                time.time(),
                self.validity,
                self.usable,
                options,
                self.screens,
            )
        if isinstance(prepared, Refused):
            self.counters["refused"] += 1
            self.metrics.refused(account.id, prepared.status)
        return prepared

    def commit(self, message: MtMessage, reply: Reply) -> None:
        """Hold and queue ``message`` in this iteration's ledger batch, then
        ``reply`` (`Commits`)."""
        self.commits.add(message, reply)

    def _accepted(self, message: MtMessage, outbox_id: str) -> None:
        """A message the ledger holds: on to its connector's queue."""
        self.outbox.accepted(message.id, outbox_id)
        self._record_described(message, _ACCEPTED)
        known = KnownState(message.account, _ENROUTE, 0, 0, message.source_addr)
        self.states.set(message.id, known)
        self.enqueue(message)

    def _record_described(self, message: MtMessage, state: Recorded) -> None:
        """A message's first state in the history, with what describes it."""
        self.history.record_described(
            message.id,
            message.account,
            state,
            parts=message.parts,
            destination=message.destination_addr,
            source=message.source_addr,
            reference=message.reference,
            price_per_part=message.price_per_part,
            pricing=message.pricing,
        )

    def enqueue(self, message: MtMessage) -> None:
        """Queue on the first connector still listed; none left fails the message.
        A message scheduled for later waits on a timer first (the outbox keeps
        it across a restart, and recovery comes back here)."""
        delay = message.not_before - time.time() if message.not_before else 0.0
        if delay > 0:
            timer = asyncio.get_running_loop().call_later(delay, self._due, message.id)
            self._scheduled[message.id] = (timer, message)
            return
        for connector in message.connectors:
            scheduler = self.schedulers.get(connector)
            if scheduler is None:
                continue
            try:
                scheduler.push(message)
            except SchedulerFull:
                continue
            return
        if not any(connector in self.schedulers for connector in message.connectors):
            rerouted = self._routed_here(message)
            if rerouted is not None:
                self.enqueue(rerouted)
                return
        self._releases.add((message, MessageState.UNDELIVERABLE, "069"))

    def _routed_here(self, message: MtMessage) -> MtMessage | None:
        """A message none of whose connectors this shard has (adopted from a
        dead peer with other connectors), routed again to connectors it has."""
        account = self.accounts.get(message.account)
        if account is None:
            return None
        rerouted = routed_again(message, account, self.table, self.pricer, self.usable, time.time())
        if rerouted is None or not any(c in self.schedulers for c in rerouted.connectors):
            return None
        return rerouted

    # -- connector listener ---------------------------------------------------

    def on_submitted(
        self, connector: str, message: MtMessage, operator_ids: tuple[str, ...]
    ) -> None:
        now = time.time()
        self.counters["submitted"] += 1
        self.metrics.submitted(message.account, now - message.accepted_at)
        self.history.record(
            message.id,
            message.account,
            _SUBMITTED,
            connector=connector,
            operator_message_id=operator_ids[0] if operator_ids else "",
            parts=message.parts,
        )
        part = submitted_part(message, now)
        # Expected whatever the customer asked: the receipt is our own status,
        # statistics and charge on delivery (the operator is always asked for one).
        self.matcher.expect(connector, operator_ids, part)
        self._settlements.add((connector, message, operator_ids))
        if self.waiters:
            self.waiters.submitted(message.id)
        if message.callback is not None:
            if self.callbacks is not None:
                operator_id = operator_ids[0] if operator_ids else ""
                self.callbacks.submitted(part, connector, operator_id)
        elif message.registered_delivery & INTERMEDIATE:
            deliver = receipt_pdu(part, MessageState.ENROUTE, "000")
            notice = Delivery(message.account, deliver, message.expires_at, message.bind)
            self.tasks.spawn(self.delivery.commit([notice]))

    def _due(self, message_id: str) -> None:
        _, message = self._scheduled.pop(message_id)
        self.enqueue(msgspec.structs.replace(message, not_before=0.0))

    def take_queued(self, account: str, message_id: str, source_addr: str = "") -> MtMessage | None:
        """``account``'s waiting message ``message_id``, taken out; None when
        there is none, or ``source_addr`` is given and is not its (§4.9.1)."""
        waiting = self._scheduled.get(message_id)
        if waiting is not None and waiting[1].account == account:
            if source_addr and source_addr != waiting[1].source_addr:
                return None
            del self._scheduled[message_id]
            waiting[0].cancel()
            return waiting[1]
        for scheduler in self.schedulers.values():
            message = scheduler.remove(account, message_id)
            if message is not None and source_addr and source_addr != message.source_addr:
                scheduler.push_front(message)  # back where it waits, at its account's head
                return None
            if message is not None:
                return message
        return None

    def cancel(self, account: str, message_id: str, source_addr: str = "") -> bool:
        """cancel_sm (§4.9): a message still queued is taken out, its hold
        released; one already handed to an operator cannot be cancelled, nor
        one a connector began (queued again for a retry, some of its parts
        may be with the operator: releasing its whole hold would not charge them)."""
        if self.begun(message_id):
            return False
        message = self.take_queued(account, message_id, source_addr)
        if message is None:
            return False
        self.history.record(message.id, account, RECORDED[Event.CANCELLED])
        known = KnownState(account, MessageState.DELETED, time.time(), 0, message.source_addr)
        self.states.set(message.id, known)
        self._releases.add((message, MessageState.DELETED, "000"))
        return True

    def reroute(self, connector: str, message: MtMessage) -> None:
        """A message waiting on a connector that has been down too long moves
        to the next usable connector of its list; with none, it keeps waiting."""
        remaining = message.connectors[message.connectors.index(connector) + 1 :]
        usable = [c for c in remaining if self.usable is None or c in self.usable]
        if usable and time.time() < message.expires_at:
            self.enqueue(msgspec.structs.replace(message, connectors=tuple(usable), attempts=0))
        else:
            self.schedulers[connector].push_front(message)

    def on_failed(
        self, connector: str, message: MtMessage, status: int | None, permanent: bool
    ) -> None:
        remaining = message.connectors[message.connectors.index(connector) + 1 :]
        if not permanent and remaining and time.time() < message.expires_at:
            self.enqueue(msgspec.structs.replace(message, connectors=remaining, attempts=0))
            return
        self.counters["failed"] += 1
        self.metrics.ended(message.account, "failed")
        self.history.record(
            message.id,
            message.account,
            RECORDED[Event.FAILED],
            connector=connector,
            error_code=status,
        )
        error = f"{(status or 0) & 0xFFF:03x}"
        self._releases.add((message, MessageState.UNDELIVERABLE, error))

    def on_expired(self, connector: str, message: MtMessage) -> None:
        self.counters["failed"] += 1
        self.metrics.ended(message.account, "expired")
        self.history.record(
            message.id, message.account, RECORDED[Event.EXPIRED], connector=connector
        )
        self._releases.add((message, MessageState.EXPIRED, "000"))

    def on_deliver(self, connector: str, request: p.DeliverSm | p.DataSm, answer: Answer) -> None:
        """A receipt or MO from an operator, as deliver_sm or data_sm;
        ``answer`` is called once its effect is committed."""
        if request.esm_class & _RECEIPT:
            self.matcher.receipt(connector, request, answer)
        else:
            self.mo.receive(connector, request, answer)

    # -- settlement (batched) -------------------------------------------------

    async def _settle(self, batch: list[tuple[str, MtMessage, tuple[str, ...]]]) -> None:
        """Correlations first (receipts may follow within milliseconds), then
        the captures (the ledger coalesces them) and one outbox acknowledgement."""
        await self.matcher.store([(connector, ids) for connector, _, ids in batch])
        own = self.outbox.own
        await self.ledger.capture_many(
            [(m.id, m.account, m.price_per_part * m.parts, own(m.id)) for _, m, _ in batch]
        )
        await self.outbox.settled([m for _, m, _ in batch])

    async def _release(self, batch: list[tuple[MtMessage, MessageState, str]]) -> None:
        """Messages that will never reach an operator: holds back, customers told."""
        own = self.outbox.own
        await self.ledger.release_many([(m.id, m.account, own(m.id)) for m, _, _ in batch])
        await self.outbox.settled([m for m, _, _ in batch])
        deliveries: list[Delivery] = []
        for message, state, error in batch:
            part = submitted_part(message, message.accepted_at)
            self.reports.report(part, state, error, message.expires_at, deliveries)
        if deliveries:
            await self.delivery.commit(deliveries)

    async def _apply_receipts(self, batch: list[MatchedReceipt]) -> None:
        """Matched receipts into the history and on to their customers (once
        per message); returns once both are committed, for the operator's answer."""
        now = time.time()
        deliveries: list[Delivery] = []
        unsaved: dict[str, KnownState | None] = {}
        for connector, outcome, part in batch:
            self.counters["receipts"] += 1
            if self.receipt_seen is not None:
                self.receipt_seen(connector, outcome.state)
            self.metrics.receipt(connector, part.account, outcome.state, now - part.submitted_at)
            self.history.record(
                part.message_id,
                part.account,
                RECORDED_OF_RECEIPT[outcome.state],
                connector=connector,
                operator_message_id=outcome.message_id,
            )
            if self.reports.already_reported(part, outcome.state):
                continue
            receipt = outcome.receipt
            self.reports.report(
                part,
                outcome.state,
                forwarded_err(receipt.err if receipt is not None else None),
                now + self.validity.default,
                deliveries,
                connector=connector,
                operator_id=outcome.message_id,
                undo=unsaved,
            )
        # One round writes the events and stores the deliveries (`CustomerDelivery.record`).
        await self.reports.stored(self.delivery.commit(deliveries), unsaved)
        await self.history.written()

    @property
    def callbacks(self) -> CallbackSink | None:
        """Sends HTTP customers' webhooks; set by the HTTP front."""
        return self.reports.callbacks

    @callbacks.setter
    def callbacks(self, sink: CallbackSink | None) -> None:
        self.reports.callbacks = sink

    async def drain(self) -> None:
        """Wait for the batches, settlements and history already started."""
        await self.tasks.drain()
        await self.history.drain()


def _nothing_begun(message_id: str) -> bool:
    return False
