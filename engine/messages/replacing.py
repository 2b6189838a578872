"""replace_sm (SMPP 3.4 §4.10): new content for a message still waiting in this shard.

Only a message that has not left us can change: one waiting for its
schedule_delivery_time, or queued in a connector's scheduler and never begun
by the connector. One that a connector began (even if queued again for a
retry: parts may have reached the operator), finished, unknown here, or
another account's gets ESME_RREPLACEFAIL, as does one whose source_addr is not
the original's (§4.10 matches on message_id and source address).

Money: the ledger held price x parts at the commit point, and a hold can only
shrink (a capture spends at most what is held and releases the rest; there is
no operation that grows one). So the replacement is routed and priced again as
if it were submitted now, content filters seeing the new text, and served only
at the same price per part and in no more parts than were held. The settlement
then captures the parts actually sent and releases the rest: money events the
reconciliation already knows. A replacement that needs more parts, or that is
priced differently now, is refused with ESME_RREPLACEFAIL (cancel_sm and a new
submit_sm do that job).

Durability: the message leaves its queue while its outbox entry is rewritten
(one ledger call: the new content in, the old out) and goes back only once
that is done, so neither a connector nor a restart sends the old text after
the customer heard OK. The history records the replacement as a second
ACCEPTED event with the new part count: the message is where it was, and
there is no "replaced" state in the schema.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import aclosing

import msgspec
import structlog

from engine.billing.pricing import Pricer
from engine.customers.accounts import AccountConfig
from engine.messages.intake import Refused, SubmitOptions, ValidityLimits, prepare_mt
from engine.messages.lifecycle import RECORDED, Event
from engine.messages.message import MtMessage, pack_message, unpack_message
from engine.messages.pipeline import Pipeline
from ledger.model import OutboxEntry, OutboxRef
from ledger.protocol import Ledger
from router import RoutingTable
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.tlv import Tag

log = structlog.get_logger("smsgw.replacing")

Answer = Callable[[int], None]
"""Answers the customer's replace_sm with its command_status."""

_REREAD_AFTER = 1.0
"""Seconds before the outbox is read again when the ledger did not say whether
a replacement was written (Redis down, or its answer lost)."""


def replacement_of(
    original: MtMessage,
    request: p.ReplaceSm,
    account: AccountConfig,
    table: RoutingTable,
    pricer: Pricer,
    validity: ValidityLimits,
    usable: frozenset[str] | None,
    now: float,
) -> MtMessage | Refused:
    """``original`` with the content ``request`` asks for, or why not.

    An empty schedule_delivery_time or validity_period keeps the original's
    (§4.10.1: "Set to NULL to preserve the original"); registered_delivery and
    the text are always the request's. The text keeps the original's
    data_coding and esm_class (replace_sm has neither) and may come in
    message_payload (SMPP 5.0 allows it here).
    """
    if request.sm_default_msg_id:
        return Refused(S.ESME_RINVDFTMSGID, "canned messages (sm_default_msg_id) are not supported")
    if request.source_addr != original.source_addr:
        return Refused(S.ESME_RREPLACEFAIL, "source_addr is not the original's")
    payload = request.tlvs.get(Tag.MESSAGE_PAYLOAD)
    resubmitted = p.SubmitSm(
        source_addr_ton=original.source_addr_ton,
        source_addr_npi=original.source_addr_npi,
        source_addr=original.source_addr,
        # Already international: the "+" keeps the router from reading it as national.
        destination_addr="+" + original.destination_addr,
        esm_class=original.esm_class,
        data_coding=original.data_coding,
        schedule_delivery_time=request.schedule_delivery_time,
        validity_period=request.validity_period,
        registered_delivery=request.registered_delivery,
        short_message=request.short_message,
        tlvs={} if payload is None else {Tag.MESSAGE_PAYLOAD: payload},
    )
    options = SubmitOptions(
        priority=original.priority,
        reference=original.reference,
        callback=original.callback,
        not_before=original.not_before,
        expires_at=None if request.validity_period else original.expires_at,
    )
    prepared = prepare_mt(
        resubmitted, account, table, pricer, original.id, now, validity, usable, options
    )
    if isinstance(prepared, Refused):
        return prepared
    if prepared.price_per_part != original.price_per_part:
        return Refused(S.ESME_RREPLACEFAIL, "priced differently now than when accepted")
    if prepared.parts > original.parts:
        return Refused(
            S.ESME_RREPLACEFAIL, f"needs {prepared.parts} parts, {original.parts} were held"
        )
    return msgspec.structs.replace(
        original,
        user_data=prepared.user_data,
        parts=prepared.parts,
        registered_delivery=prepared.registered_delivery,
        connectors=prepared.connectors,
        cost_per_part=prepared.cost_per_part,
        expires_at=prepared.expires_at,
        not_before=prepared.not_before,
    )


def replace_waiting(
    pipeline: Pipeline, account: AccountConfig, request: p.ReplaceSm, answer: Answer
) -> None:
    """Take the message out of its queue now (in the order requests arrive),
    then write the outbox and answer when the ledger has."""
    if pipeline.begun(request.message_id):
        answer(S.ESME_RREPLACEFAIL)
        return
    original = pipeline.take_queued(account.id, request.message_id)
    if original is None:
        answer(S.ESME_RREPLACEFAIL)
        return
    replacement = replacement_of(
        original,
        request,
        account,
        pipeline.table,
        pipeline.pricer,
        pipeline.validity,
        pipeline.usable,
        time.time(),
    )
    if isinstance(replacement, Refused):
        _put_back(pipeline, original)
        answer(replacement.status)
        return
    pipeline.tasks.spawn(_write(pipeline, original, replacement, answer))


async def _write(
    pipeline: Pipeline, original: MtMessage, replacement: MtMessage, answer: Answer
) -> None:
    """The outbox first, then the queue: ESME_ROK only once the new content is durable."""
    shard, entry_id = pipeline.outbox.entry(original.id)
    new_entry = None
    if entry_id:
        ref = OutboxRef(original.account, entry_id)
        try:
            new_entry = await pipeline.ledger.replace_outbox(ref, pack_message(replacement), shard)
        except Exception:
            log.warning("replace_sm: outcome unknown", id=original.id, exc_info=True)
            answer(S.ESME_RSYSERR)
            await _resume_from_outbox(pipeline, original)
            return
    if new_entry is None:
        _put_back(pipeline, original)
        answer(S.ESME_RREPLACEFAIL)
        return
    _replaced(pipeline, replacement, shard, new_entry)
    answer(S.ESME_ROK)


async def _resume_from_outbox(pipeline: Pipeline, original: MtMessage) -> None:
    """Whichever content the outbox holds is the one that goes back to wait:
    the replacement if it was written, else the original."""
    shard, entry_id = pipeline.outbox.entry(original.id)
    try:
        entry = await _find_entry(pipeline.ledger, original.id, shard)
    except Exception:
        log.warning("replace_sm: outbox unreadable, trying again", id=original.id)
        asyncio.get_running_loop().call_later(
            _REREAD_AFTER,
            lambda: pipeline.tasks.spawn(_resume_from_outbox(pipeline, original)),
        )
        return
    if entry is None or entry.entry_id == entry_id:
        _put_back(pipeline, original)
    else:
        _replaced(pipeline, unpack_message(entry.payload), shard, entry.entry_id)


def _replaced(pipeline: Pipeline, message: MtMessage, shard: str | None, entry_id: str) -> None:
    """The outbox holds ``message`` under ``entry_id`` now: settling acknowledges that one."""
    pipeline.outbox.moved(message.id, shard, entry_id)
    pipeline.history.record(
        message.id, message.account, RECORDED[Event.REPLACED], parts=message.parts
    )
    _put_back(pipeline, message)


async def _find_entry(ledger: Ledger, message_id: str, shard: str | None) -> OutboxEntry | None:
    """A scan of the shard's outbox: only after the ledger failed to answer."""
    entries = ledger.read_outbox(shard)
    async with aclosing(entries):  # type: ignore[type-var]
        async for entry in entries:
            if entry.message_id == message_id:
                return entry
    return None


def _put_back(pipeline: Pipeline, message: MtMessage) -> None:
    """Waiting again: on its timer if its time is still to come, else at the
    head of its account's queue, never refused (it was accepted and counted,
    as `Scheduler.push_front` says)."""
    if message.not_before > time.time():
        pipeline.enqueue(message)
        return
    for connector in message.connectors:
        scheduler = pipeline.schedulers.get(connector)
        if scheduler is not None:
            scheduler.push_front(message)
            return
    pipeline.enqueue(message)  # no connector of its route is left: this fails it
