"""MO messages (SMPP §4.6 deliver_sm that is not a receipt): the MO routing
table names the accounts; the first one this shard knows gets it, held until
it binds a receiver, within the default validity."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime

import msgspec

from engine.customers.accounts import AccountConfig
from engine.customers.delivery import CustomerDelivery
from router import MessageFacts, MoRouted, Rejected, RoutingTable
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.text import NotTextError, decode_text


def route_mo(
    table: RoutingTable,
    accounts: Mapping[str, AccountConfig],
    delivery: CustomerDelivery,
    validity: float,
    connector: str,
    request: p.DeliverSm,
) -> int:
    """The command_status to answer the operator with; ESME_ROK once queued."""
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
    decision = table.decide_mo(facts)
    if isinstance(decision, Rejected):
        return decision.command_status
    if not isinstance(decision, MoRouted):
        return S.ESME_RINVDSTADR
    account = next((a for a in decision.accounts if a in accounts), None)
    if account is None:
        return S.ESME_RINVDSTADR
    deliver = msgspec.structs.replace(request, sequence_number=0)
    delivery.send(account, deliver, time.time() + validity)
    return S.ESME_ROK
