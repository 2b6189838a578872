"""Receipts and MO as operators really send them, end to end over real sockets:
data_sm as well as deliver_sm, ids in another base or case, receipts the
customer did not ask for, and the operator answered only once committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import pytest
from redis.asyncio import Redis

from engine.gateway import Gateway
from smpp import pdu as p
from smpp.aio import SmppConnection, start_server
from smpp.constants import CommandStatus as S
from smpp.receipt import MessageState
from smpp.tlv import Tag
from tests.engine.gateway_harness import OTP, Customer, running_gateway

pytestmark = pytest.mark.parametrize("backend", ["memory", "redis"])
WAIT = 10.0


class ScriptedOperator:
    """An SMSC that answers submit_sm with the ids it is given, and sends the
    receipts and MO a test asks for, keeping the answers it gets."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.submitted: list[p.SubmitSm] = []
        self.answers: list[p.Pdu] = []
        self.bound: asyncio.Queue[SmppConnection] = asyncio.Queue()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await start_server("127.0.0.1", 0, self)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        if isinstance(request, p.BindTransceiver):
            connection.respond(p.response_to(request, system_id="smsc"))
            self.bound.put_nowait(connection)
        elif isinstance(request, p.SubmitSm):
            self.submitted.append(request)
            connection.respond(p.response_to(request, message_id=self.ids.pop(0)))
        else:
            connection.respond(p.response_to(request))

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        pass

    async def send(self, connection: SmppConnection, request: p.Pdu) -> p.Pdu:
        answer = await asyncio.wait_for(connection.request(request), WAIT)
        self.answers.append(answer)
        return answer


@asynccontextmanager
async def operator_bound(
    backend: str, redis: Redis, namespace: str, ids: list[str]
) -> AsyncIterator[tuple[ScriptedOperator, Gateway, SmppConnection]]:
    """A gateway whose one operator answers with ``ids``, once it has bound."""
    operator = ScriptedOperator(ids)
    async with running_gateway(backend, [operator], redis, namespace) as gateway:  # type: ignore[list-item]
        yield operator, gateway, await asyncio.wait_for(operator.bound.get(), WAIT)


async def submitted(
    gateway: Gateway, operator: ScriptedOperator, rd: int
) -> tuple[str, SmppConnection, Customer]:
    customer = Customer()
    connection = await customer.bind(gateway)
    response = await connection.call(msgspec.structs.replace(OTP, registered_delivery=rd))
    async with asyncio.timeout(WAIT):
        while not operator.submitted:
            await asyncio.sleep(0.01)
    return response.message_id, connection, customer  # type: ignore[attr-defined]


async def query_until(connection: SmppConnection, message_id: str, state: MessageState) -> None:
    async with asyncio.timeout(WAIT):
        while (await connection.call(p.QuerySm(message_id=message_id))).message_state != state:  # type: ignore[attr-defined]
            await asyncio.sleep(0.02)


async def test_a_data_sm_receipt_with_a_decimal_id_for_a_hex_one(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with operator_bound(backend, redis_client, namespace, ["00A1B2C3"]) as bound:
        operator, gateway, operator_bind = bound
        ours, connection, customer = await submitted(gateway, operator, rd=1)
        receipt = p.DataSm(
            source_addr=OTP.destination_addr,
            esm_class=0x04,
            tlvs={
                Tag.RECEIPTED_MESSAGE_ID: str(0xA1B2C3),
                Tag.MESSAGE_STATE: int(MessageState.DELIVERED),
            },
        )
        answer = await operator.send(operator_bind, receipt)
        assert isinstance(answer, p.DataSmResp) and answer.command_status == S.ESME_ROK
        forwarded = await asyncio.wait_for(customer.delivered.get(), WAIT)
        assert forwarded.tlvs[Tag.RECEIPTED_MESSAGE_ID] == ours
        assert forwarded.tlvs[Tag.MESSAGE_STATE] == MessageState.DELIVERED
        await query_until(connection, ours, MessageState.DELIVERED)


async def test_the_operator_is_asked_for_a_receipt_the_customer_did_not_want(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with operator_bound(backend, redis_client, namespace, ["MSG-1"]) as bound:
        operator, gateway, operator_bind = bound
        ours, connection, customer = await submitted(gateway, operator, rd=0)
        assert operator.submitted[0].registered_delivery == 1
        receipt = p.DeliverSm(
            source_addr=OTP.destination_addr,
            esm_class=0x04,
            short_message=b"id:msg-1 sub:001 dlvrd:000 stat:UNDELIV err:012 text:",
        )
        answer = await operator.send(operator_bind, receipt)
        assert answer.command_status == S.ESME_ROK
        await query_until(connection, ours, MessageState.UNDELIVERABLE)
        assert customer.delivered.empty()


async def test_an_mo_as_data_sm_reaches_the_customer_as_deliver_sm(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with operator_bound(backend, redis_client, namespace, []) as bound:
        operator, gateway, operator_bind = bound
        customer = Customer()
        await customer.bind(gateway)
        mo = p.DataSm(
            source_addr="33612345678",
            destination_addr="12345",
            tlvs={Tag.MESSAGE_PAYLOAD: b"STOP"},
        )
        answer = await operator.send(operator_bind, mo)
        assert isinstance(answer, p.DataSmResp) and answer.command_status == S.ESME_ROK
        delivered = await asyncio.wait_for(customer.delivered.get(), WAIT)
        assert isinstance(delivered, p.DeliverSm)
        assert (delivered.source_addr, delivered.short_message) == ("33612345678", b"STOP")


async def test_bad_receipts_never_break_the_bind(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with operator_bound(backend, redis_client, namespace, ["7"]) as bound:
        operator, gateway, operator_bind = bound
        ours, connection, _ = await submitted(gateway, operator, rd=1)
        for text in (
            b"garbage \xff\x00",
            b"id:" + b"9" * 200 + b" stat:DELIVRD",
            b"id:8 done date:9999999999 stat:??",
        ):
            bad = p.DeliverSm(esm_class=0x04, short_message=text, tlvs={0x1401: b"vendor"})
            assert (await operator.send(operator_bind, bad)).command_status == S.ESME_ROK
        good = p.DeliverSm(esm_class=0x04, short_message=b"id:7 stat:DELIVRD err:000")
        assert (await operator.send(operator_bind, good)).command_status == S.ESME_ROK
        await query_until(connection, ours, MessageState.DELIVERED)
