"""MO messages (SMPP §4.6 deliver_sm or §4.7 data_sm that is not a receipt): the
MO routing table names the accounts; the first one this shard knows gets it,
held until it binds a receiver, within the default validity."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import msgspec
import structlog

from engine.customers.accounts import AccountConfig
from engine.customers.delivery import CustomerDelivery
from engine.customers.pending import Delivery
from engine.loop.batching import BackgroundTasks, TickBatcher
from router import MessageFacts, MoRouted, Rejected, RoutingTable
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.text import NotTextError, decode_text
from smpp.tlv import Tag

log = structlog.get_logger("smsgw.mo")

Answer = Callable[[int], None]
"""Answers the operator's deliver_sm or data_sm with a command_status."""

MoHook = Callable[[list[Delivery]], Awaitable[None]]
"""Sees each batch of routed MO before it is stored (opt-out keywords,
`engine.optout`); raising makes the operator send the batch again."""

MAX_SHORT_MESSAGE = 254
"""Octets short_message may hold; longer user data stays in message_payload (§5.2.21)."""


class MoIntake:
    """Routes each MO at once and stores the routed ones for their customers
    in one call per event loop iteration; the operator is answered after."""

    def __init__(
        self,
        table: RoutingTable,
        accounts: Mapping[str, AccountConfig],
        delivery: CustomerDelivery,
        validity: float,
        tasks: BackgroundTasks,
        counters: dict[str, int],
    ) -> None:
        self.table = table
        self.accounts = accounts
        self.delivery = delivery
        self.validity = validity
        self._counters = counters
        """The pipeline's: MO taken count under "mo"."""
        self._routed: TickBatcher[tuple[Delivery, Answer]] = TickBatcher(self._commit, tasks)
        self.on_mo: MoHook | None = None

    def receive(self, connector: str, request: p.DeliverSm | p.DataSm, answer: Answer) -> None:
        routed = route_mo(self.table, self.accounts, self.validity, connector, request)
        if isinstance(routed, int):
            answer(routed)
        else:
            self._routed.add((routed, answer))

    async def _commit(self, batch: list[tuple[Delivery, Answer]]) -> None:
        routed = [mo for mo, _ in batch]
        try:
            if self.on_mo is not None:
                await self.on_mo(routed)
            await self.delivery.commit(routed)
        except Exception:
            log.exception("MO not stored, operator asked to resend", count=len(batch))
            for _, answer in batch:
                answer(S.ESME_RX_T_APPN)
            return
        self._counters["mo"] += len(batch)
        for _, answer in batch:
            answer(S.ESME_ROK)


def route_mo(
    table: RoutingTable,
    accounts: Mapping[str, AccountConfig],
    validity: float,
    connector: str,
    request: p.DeliverSm | p.DataSm,
) -> Delivery | int:
    """Where an MO goes, or the command_status that refuses it."""
    deliver = as_deliver_sm(request)
    facts = MessageFacts(
        source=request.source_addr,
        destination=request.destination_addr,
        now=datetime.now(UTC),
        connector=connector,
        content=mo_text(deliver),
        data_coding=request.data_coding,
    )
    decision = table.decide_mo(facts)
    if isinstance(decision, Rejected):
        return decision.command_status
    if not isinstance(decision, MoRouted):
        return S.ESME_RINVDSTADR
    account = next((a for a in decision.accounts if a in accounts), None)
    if account is None:
        return S.ESME_RINVDSTADR
    return Delivery(account, deliver, time.time() + validity)


def mo_text(deliver: p.DeliverSm) -> str:
    """The MO's text, or "" for binary user data."""
    user_data = deliver.short_message or deliver.tlvs.get(Tag.MESSAGE_PAYLOAD) or b""
    try:
        return decode_text(user_data, deliver.data_coding)  # type: ignore[arg-type]
    except (NotTextError, TypeError):
        return ""


def as_deliver_sm(request: p.DeliverSm | p.DataSm) -> p.DeliverSm:
    """The deliver_sm a customer gets for an operator's MO: the same one, or a
    data_sm's fields with its message_payload as short_message when it fits
    (customers bind for deliver_sm; few take data_sm)."""
    if isinstance(request, p.DeliverSm):
        return msgspec.structs.replace(request, sequence_number=0)
    tlvs = dict(request.tlvs)
    payload = tlvs.get(Tag.MESSAGE_PAYLOAD)
    short_message = b""
    if isinstance(payload, bytes) and len(payload) <= MAX_SHORT_MESSAGE:
        short_message = payload
        del tlvs[Tag.MESSAGE_PAYLOAD]
    return p.from_data_sm(p.DeliverSm, request, short_message=short_message, tlvs=tlvs)
