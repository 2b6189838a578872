"""The message pipeline of one shard: commit, schedule, settle, report.

Customer submits arrive synchronously from the SMPP adapter; they are routed
at once and committed to the ledger in batches, one `accept_many` per event
loop iteration (one task per batch, never per message). Connectors report
back through the listener methods; settlement calls are batched the same way.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from engine.accounts import AccountConfig, BindRegistry, HeldDeliveries
from engine.history import STATE_OF_RECEIPT, MessageHistory
from engine.intake import Refused, ValidityLimits, prepare_mt
from engine.message import MtMessage, pack_message
from engine.metrics import PipelineMetrics
from engine.receipts import ReceiptMap, SubmittedPart
from engine.scheduler import Scheduler, SchedulerFull
from engine.states import KnownState, RecentStates
from ledger.events import MessageState as Recorded
from ledger.model import AcceptOutcome, AcceptRequest, OutboxRef
from ledger.protocol import Ledger
from router import MessageFacts, MoRouted, Rejected, RoutingTable
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.constants import EsmClass, RegisteredDelivery
from smpp.receipt import (
    STAT_WORDS,
    DeliveryReceipt,
    MessageState,
    format_receipt,
    is_final,
    receipt_outcome,
)
from smpp.text import NotTextError, decode_text
from smpp.tlv import Tag

log = structlog.get_logger("smsgw.pipeline")

_RECENT_STATES = 1_000_000
"""Messages whose state query_sm can answer on this shard (about 100 MB at most)."""

Reply = Callable[[int, str], None]
"""Answers the customer: command_status and our message id."""

_REFUSALS = {
    AcceptOutcome.NO_CREDIT: S.ESME_RSUBMITFAIL,
    AcceptOutcome.THROTTLED: S.ESME_RTHROTTLED,
    AcceptOutcome.QUOTA_EXCEEDED: S.ESME_RTHROTTLED,
    AcceptOutcome.ACCOUNT_DISABLED: S.ESME_RSUBMITFAIL,
    AcceptOutcome.UNKNOWN_ACCOUNT: S.ESME_RSUBMITFAIL,
}


class MessageIds:
    """Unique, roughly time-ordered ids: milliseconds, shard, counter (all hex)."""

    def __init__(self, shard: int) -> None:
        self._shard = shard
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{int(time.time() * 1000):x}{self._shard:02x}{next(self._counter) & 0xFFFFFF:06x}"


class Pipeline:
    def __init__(
        self,
        *,
        ledger: Ledger,
        table: RoutingTable,
        schedulers: dict[str, Scheduler],
        receipts: ReceiptMap,
        binds: BindRegistry,
        held: HeldDeliveries,
        accounts: dict[str, AccountConfig],
        validity: ValidityLimits,
        new_id: Callable[[], str],
        metrics: PipelineMetrics,
    ) -> None:
        self.ledger = ledger
        self.table = table
        self.schedulers = schedulers
        self.receipts = receipts
        self.binds = binds
        self.held = held
        self.accounts = accounts
        self.validity = validity
        self._new_id = new_id
        self.metrics = metrics
        self.history = MessageHistory(ledger)
        self.states = RecentStates(_RECENT_STATES)
        self._pending: list[tuple[AcceptRequest, MtMessage, Reply]] = []
        self._outbox: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.counters = {
            "accepted": 0,
            "refused": 0,
            "submitted": 0,
            "failed": 0,
            "receipts": 0,
            "mo": 0,
        }

    # -- accept ---------------------------------------------------------------

    def submit(self, account: AccountConfig, request: p.SubmitSm, reply: Reply) -> None:
        """Route now, commit in this iteration's batch, then ``reply``."""
        prepared = prepare_mt(
            request, account, self.table, self._new_id(), time.time(), self.validity
        )
        if isinstance(prepared, Refused):
            self.counters["refused"] += 1
            reply(prepared.status, "")
            return
        accept = AcceptRequest(
            message_id=prepared.id,
            account=account.id,
            parts=prepared.parts,
            price=prepared.price_per_part,
            payload=pack_message(prepared),
        )
        if not self._pending:
            self._spawn(self._commit_batch())
        self._pending.append((accept, prepared, reply))

    async def _commit_batch(self) -> None:
        batch, self._pending = self._pending, []
        self.metrics.ledger_batch.observe(len(batch))
        try:
            results = await self.ledger.accept_many([item[0] for item in batch])
        except Exception:
            log.exception("ledger accept failed", messages=len(batch))
            for _, _, reply in batch:
                reply(S.ESME_RSYSERR, "")
            return
        for (_, message, reply), result in zip(batch, results, strict=True):
            if result.outcome is AcceptOutcome.OK:
                self.counters["accepted"] += 1
                self._outbox[message.id] = result.outbox_id or ""
                self.history.record(
                    message.id, message.account, Recorded.ACCEPTED, parts=message.parts
                )
                self.states.set(message.id, KnownState(message.account, MessageState.ENROUTE, 0, 0))
                self.enqueue(message)
                reply(S.ESME_ROK, message.id)
            elif result.outcome is AcceptOutcome.DUPLICATE:
                reply(S.ESME_ROK, result.original_message_id or "")
            else:
                self.counters["refused"] += 1
                reply(_REFUSALS[result.outcome], "")

    def remember_outbox(self, message_id: str, entry_id: str) -> None:
        """Recovery: the outbox entry to acknowledge once ``message_id`` is settled."""
        self._outbox[message_id] = entry_id

    def enqueue(self, message: MtMessage) -> None:
        """Queue on the first connector still listed; none left fails the message."""
        for connector in message.connectors:
            scheduler = self.schedulers.get(connector)
            if scheduler is None:
                continue
            try:
                scheduler.push(message)
            except SchedulerFull:
                continue
            return
        self._spawn(self._finish(message, MessageState.UNDELIVERABLE, "069"))

    # -- connector listener ---------------------------------------------------

    def on_submitted(
        self, connector: str, message: MtMessage, operator_ids: tuple[str, ...]
    ) -> None:
        self.counters["submitted"] += 1
        self.metrics.accept_to_submit.observe(time.time() - message.accepted_at)
        self.history.record(
            message.id,
            message.account,
            Recorded.SUBMITTED,
            connector=connector,
            operator_message_id=operator_ids[0] if operator_ids else "",
            parts=message.parts,
        )
        self._spawn(self._settle_submitted(connector, message, operator_ids))
        if message.registered_delivery & RegisteredDelivery.INTERMEDIATE:
            part = SubmittedPart(
                message.id,
                message.account,
                message.registered_delivery,
                message.source_addr,
                message.destination_addr,
                time.time(),
            )
            self._deliver(part.account, receipt_pdu(part, MessageState.ENROUTE, "000"), message)

    def on_failed(
        self, connector: str, message: MtMessage, status: int | None, permanent: bool
    ) -> None:
        remaining = message.connectors[message.connectors.index(connector) + 1 :]
        if not permanent and remaining and time.time() < message.expires_at:
            self.enqueue(_with_connectors(message, remaining))
            return
        self.counters["failed"] += 1
        self.history.record(
            message.id, message.account, Recorded.FAILED, connector=connector, error_code=status
        )
        error = f"{(status or 0) & 0xFFF:03x}"
        self._spawn(self._finish(message, MessageState.UNDELIVERABLE, error))

    def on_expired(self, connector: str, message: MtMessage) -> None:
        self.counters["failed"] += 1
        self.history.record(message.id, message.account, Recorded.EXPIRED, connector=connector)
        self._spawn(self._finish(message, MessageState.EXPIRED, "000"))

    def on_deliver(self, connector: str, request: p.DeliverSm | p.DataSm) -> int:
        if not isinstance(request, p.DeliverSm):
            return S.ESME_RINVCMDID
        if request.esm_class & EsmClass.DELIVERY_RECEIPT:
            self._spawn(self._relay_receipt(connector, request))
            return S.ESME_ROK
        return self._route_mo(connector, request)

    def _route_mo(self, connector: str, request: p.DeliverSm) -> int:
        """An MO message goes to the first account the MO routes name (held
        until that account binds, within the default validity)."""
        try:
            content = decode_text(request.short_message, request.data_coding)
        except NotTextError:
            content = ""
        facts = MessageFacts(
            source=request.source_addr,
            destination=request.destination_addr,
            now=datetime.now(UTC),
            connector=connector,
            content=content,
            data_coding=request.data_coding,
        )
        decision = self.table.decide_mo(facts)
        if isinstance(decision, Rejected):
            return decision.command_status
        if not isinstance(decision, MoRouted):
            return S.ESME_RINVDSTADR
        account = next((a for a in decision.accounts if a in self.accounts), None)
        if account is None:
            return S.ESME_RINVDSTADR
        deliver = msgspec.structs.replace(request, sequence_number=0)
        if not self._send_to_customer(account, deliver):
            self.held.hold(account, time.time() + self.validity.default, deliver)
        self.counters["mo"] += 1
        return S.ESME_ROK

    # -- settlement -----------------------------------------------------------

    async def _settle_submitted(
        self, connector: str, message: MtMessage, operator_ids: tuple[str, ...]
    ) -> None:
        await self.ledger.capture(
            message.id, message.account, message.price_per_part * message.parts
        )
        await self._ack_outbox(message)
        if message.registered_delivery & 0x03:
            part = SubmittedPart(
                message.id,
                message.account,
                message.registered_delivery,
                message.source_addr,
                message.destination_addr,
                time.time(),
            )
            await self.receipts.put_many(connector, [(op_id, part) for op_id in operator_ids])

    async def _finish(self, message: MtMessage, state: MessageState, error: str) -> None:
        """A message that will never reach an operator: give the hold back, tell the customer."""
        await self.ledger.release(message.id, message.account)
        await self._ack_outbox(message)
        if message.registered_delivery & 0x03:
            part = SubmittedPart(
                message.id,
                message.account,
                message.registered_delivery,
                message.source_addr,
                message.destination_addr,
                message.accepted_at,
            )
            self.deliver_receipt(part, state, error, message.expires_at)

    async def _ack_outbox(self, message: MtMessage) -> None:
        entry = self._outbox.pop(message.id, None)
        if entry:
            await self.ledger.ack_outbox([OutboxRef(message.account, entry)])

    async def _relay_receipt(self, connector: str, request: p.DeliverSm) -> None:
        rmid = request.tlvs.get(Tag.RECEIPTED_MESSAGE_ID)
        state = request.tlvs.get(Tag.MESSAGE_STATE)
        outcome = receipt_outcome(
            rmid if isinstance(rmid, str) else None,
            state if isinstance(state, int) else None,
            request.short_message,
        )
        if outcome is None:
            return
        part = await self.receipts.get(connector, outcome.message_id)
        if part is None:
            log.warning("receipt for unknown message", connector=connector, id=outcome.message_id)
            return
        self.counters["receipts"] += 1
        self.metrics.submit_to_receipt.observe(time.time() - part.submitted_at)
        self.history.record(
            part.message_id,
            part.account,
            STATE_OF_RECEIPT[outcome.state],
            connector=connector,
            operator_message_id=outcome.message_id,
        )
        error = outcome.receipt.err if outcome.receipt and outcome.receipt.err else "000"
        self.deliver_receipt(part, outcome.state, error[:3], time.time() + self.validity.default)

    def deliver_receipt(
        self, part: SubmittedPart, state: MessageState, error: str, deadline: float
    ) -> None:
        """Send our receipt (carrying OUR id) if the customer asked for it."""
        error_code = int(error) if error.isdigit() else 0
        self.states.set(part.message_id, KnownState(part.account, state, time.time(), error_code))
        failed = state is not MessageState.DELIVERED
        wanted = part.registered_delivery & 0x03
        if wanted == RegisteredDelivery.NONE or (
            wanted == RegisteredDelivery.FAILURE_ONLY and not failed
        ):
            return
        deliver = receipt_pdu(part, state, error)
        if not self._send_to_customer(part.account, deliver):
            self.held.hold(part.account, deadline, deliver)

    def _deliver(self, account: str, deliver: p.DeliverSm, message: MtMessage) -> None:
        if not self._send_to_customer(account, deliver):
            self.held.hold(account, message.expires_at, deliver)

    def bound(self, account: str) -> None:
        """A receiving bind of ``account`` appeared: send what was held for it."""
        for deliver in self.held.take(account, time.time()):
            if not self._send_to_customer(account, deliver):  # type: ignore[arg-type]
                self.held.hold(account, time.time() + self.validity.default, deliver)

    def _send_to_customer(self, account: str, deliver: p.DeliverSm) -> bool:
        window = self.accounts[account].window if account in self.accounts else 10
        connection = self.binds.receiver(account, window)
        if connection is None:
            return False
        connection.request(deliver).add_done_callback(_ignore_outcome)
        return True

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the batches, settlements and history already started."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.history.drain()


def receipt_pdu(part: SubmittedPart, state: MessageState, error: str) -> p.DeliverSm:
    """Our receipt to the customer: the standard text and TLVs, with our id;
    an intermediate notification (esm_class 0x20, §5.2.12) while not final."""
    text = format_receipt(
        DeliveryReceipt(
            id=part.message_id,
            sub=1,
            dlvrd=1 if state is MessageState.DELIVERED else 0,
            submit_date=datetime.fromtimestamp(part.submitted_at, UTC),
            done_date=datetime.now(UTC),
            stat=STAT_WORDS[state],
            err=error,
            text="",
        )
    )
    return p.DeliverSm(
        source_addr=part.destination_addr,
        source_addr_ton=1,
        source_addr_npi=1,
        destination_addr=part.source_addr,
        esm_class=EsmClass.DELIVERY_RECEIPT
        if is_final(state)
        else EsmClass.INTERMEDIATE_NOTIFICATION,
        short_message=text.encode("ascii"),
        tlvs={Tag.RECEIPTED_MESSAGE_ID: part.message_id, Tag.MESSAGE_STATE: int(state)},
    )


def _with_connectors(message: MtMessage, connectors: tuple[str, ...]) -> MtMessage:
    return msgspec.structs.replace(message, connectors=connectors, attempts=0)


def _ignore_outcome(future: asyncio.Future[p.Pdu]) -> None:
    if not future.cancelled():
        future.exception()
