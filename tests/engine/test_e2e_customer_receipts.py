"""Receipts to customers over real sockets: what a third-party ESME reads in
them (addresses and TON/NPI swapped, ``text:``, a decimal id it can keep as a
64-bit integer), and that a transmitter's receipts reach a receiver of its account."""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

import smpplib.client
import smpplib.consts
from aiosmpplib import DeliverSm as AioDeliverSm
from aiosmpplib import PhoneNumber
from aiosmpplib import SubmitSm as AioSubmitSm
from aiosmpplib.state import NPI, TON
from redis.asyncio import Redis

from smpp import pdu as p
from smpp.aio import SmppConnection, open_session
from smpp.constants import CommandStatus as S
from smpp.receipt import parse_receipt
from smpp.tlv import Tag
from tests.cluster import ON_EACH_BACKEND
from tests.engine.gateway_harness import PASSWORD, PRICE, Customer, account
from tests.engine.peers import (
    HANDSET,
    SENDER,
    WAIT,
    AiosmpplibCustomer,
    gateway_with,
    recording_operator,
    submit,
)

pytestmark = ON_EACH_BACKEND

CREDIT = 20 * PRICE
TEXT = "Your MyBank code is 482913, valid 5 minutes"
PREVIEW = TEXT[:20]
INT64_MAX = (1 << 63) - 1
DECIMAL = (account("bank", message_id_format="decimal"), account("shop"))


class SeenReceipt(NamedTuple):
    """What smpplib read from our receipt."""

    source: tuple[str, int, int]
    destination: tuple[str, int, int]
    short_message: bytes
    receipted_message_id: str


def smpplib_receipt_of_one(port: int) -> tuple[str, SeenReceipt]:
    """Bind as a transceiver, submit TEXT from an alphanumeric sender to an
    international number asking for a receipt, read its id and its receipt."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=WAIT, allow_unknown_opt_params=True)
    ids: list[str] = []
    receipts: list[SeenReceipt] = []

    def received(pdu: Any) -> None:
        receipts.append(
            SeenReceipt(
                (pdu.source_addr.decode(), pdu.source_addr_ton, pdu.source_addr_npi),
                (pdu.destination_addr.decode(), pdu.dest_addr_ton, pdu.dest_addr_npi),
                pdu.short_message,
                pdu.receipted_message_id.decode(),
            )
        )

    client.set_message_sent_handler(lambda pdu: ids.append(pdu.message_id.decode()))
    client.set_message_received_handler(received)
    client.connect()
    try:
        client.bind_transceiver(system_id="bank", password=PASSWORD)
        client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
            source_addr_npi=smpplib.consts.SMPP_NPI_UNK,
            source_addr=SENDER,
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            destination_addr=HANDSET,
            short_message=TEXT.encode(),
            registered_delivery=1,
        )
        while not (ids and receipts):
            client.read_once(auto_send_enquire_link=False)
        client.unbind()
    finally:
        client.disconnect()
    [message_id], [receipt] = ids, receipts
    return message_id, receipt


async def test_smpplib_reads_a_swapped_receipt_with_a_decimal_id(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    operator = recording_operator()
    async with gateway_with(
        backend, [operator], redis_client, namespace, accounts=DECIMAL, credit=CREDIT
    ) as gateway:
        session = asyncio.to_thread(smpplib_receipt_of_one, gateway.ports[0])
        message_id, receipt = await asyncio.wait_for(session, 3 * WAIT)
    assert message_id.isdigit() and 0 < int(message_id) <= INT64_MAX
    assert receipt.receipted_message_id == message_id
    alphanumeric, unknown = smpplib.consts.SMPP_TON_ALNUM, smpplib.consts.SMPP_NPI_UNK
    international, isdn = smpplib.consts.SMPP_TON_INTL, smpplib.consts.SMPP_NPI_ISDN
    assert receipt.source == (HANDSET, international, isdn)
    assert receipt.destination == (SENDER, alphanumeric, unknown)
    parsed = parse_receipt(receipt.short_message)
    assert parsed is not None
    assert (parsed.id, parsed.stat, parsed.text) == (message_id, "DELIVRD", PREVIEW)


async def test_aiosmpplib_matches_a_decimal_id_and_reads_the_preview(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    operator = recording_operator()
    async with (
        gateway_with(
            backend, [operator], redis_client, namespace, accounts=DECIMAL, credit=CREDIT
        ) as gateway,
        AiosmpplibCustomer(gateway.ports[0], "bank") as customer,
    ):
        outgoing = AioSubmitSm(
            short_message=TEXT,
            source=PhoneNumber(SENDER, TON.ALPHANUMERIC, NPI.UNKNOWN),
            destination=PhoneNumber(HANDSET, TON.INTERNATIONAL, NPI.ISDN),
            registered_delivery=1,
            log_id="order-1",
        )
        await customer.esme.broker.enqueue(outgoing)

        def receipts() -> list[AioDeliverSm]:
            understood = customer.log.understood
            return [m for m in understood if isinstance(m, AioDeliverSm) and m.is_receipt()]

        await customer.wait_until(lambda: bool(receipts()))
        [sent] = customer.exchange().sent
        [receipt] = receipts()
    assert sent.status == S.ESME_ROK and 0 < int(sent.message_id) <= INT64_MAX
    assert receipt.log_id == "order-1"  # aiosmpplib matched it to its submit by our id
    assert receipt.parse_receipt()["id"] == sent.message_id
    assert receipt.parse_receipt()["text"] == PREVIEW
    assert (receipt.source.number, receipt.source.ton, receipt.source.npi) == (
        HANDSET, TON.INTERNATIONAL, NPI.ISDN
    )  # fmt: skip
    assert (receipt.destination.number, receipt.destination.ton, receipt.destination.npi) == (
        SENDER, TON.ALPHANUMERIC, NPI.UNKNOWN
    )  # fmt: skip


# -- which bind ------------------------------------------------------------------


async def receipts_of(customer: Customer, count: int) -> list[str]:
    """The receipted ids of the next ``count`` deliver_sm ``customer`` gets."""
    ids = []
    for _ in range(count):
        receipt = await asyncio.wait_for(customer.delivered.get(), WAIT)
        assert isinstance(receipt, p.DeliverSm)
        ids.append(str(receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID]))
    return ids


async def sent_ids(connection: SmppConnection, count: int) -> list[str]:
    answers = [await connection.call(submit(registered_delivery=1)) for _ in range(count)]
    return [a.message_id for a in answers]  # type: ignore[attr-defined]


async def test_a_transmitters_receipts_go_to_a_receiver_of_the_account(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    operator = recording_operator()
    async with gateway_with(backend, [operator], redis_client, namespace, credit=CREDIT) as gateway:
        port = gateway.ports[0]
        sender, listener = Customer(), Customer()
        transmitter = await open_session(
            "127.0.0.1", port, p.BindTransmitter(system_id="bank", password=PASSWORD), sender
        )
        receiver = await open_session(
            "127.0.0.1", port, p.BindReceiver(system_id="bank", password=PASSWORD), listener
        )
        ids = await sent_ids(transmitter, 2)
        assert sorted(await receipts_of(listener, 2)) == sorted(ids)
        assert sender.delivered.empty()
        await transmitter.unbind()
        await receiver.unbind()


async def test_each_receipt_goes_to_the_bind_that_submitted(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    operator = recording_operator()
    async with gateway_with(backend, [operator], redis_client, namespace, credit=CREDIT) as gateway:
        port = gateway.ports[0]
        first, second = Customer(), Customer()
        binds = [
            await open_session(
                "127.0.0.1", port, p.BindTransceiver(system_id="bank", password=PASSWORD), who
            )
            for who in (first, second)
        ]
        on_first = await sent_ids(binds[0], 3)
        on_second = await sent_ids(binds[1], 1)
        assert sorted(await receipts_of(first, 3)) == sorted(on_first)
        assert await receipts_of(second, 1) == on_second
        for bind in binds:
            await bind.unbind()
