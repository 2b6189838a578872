"""Third-party ESMEs as customers of the whole gateway, over real sockets.

smpplib (blocking, in a thread) and aiosmpplib (asyncio) bind to the gateway,
split their messages themselves (a long message goes as UDH parts, each part
its own submit_sm, so its own message with its own id, price and receipt), and read
back receipts whose receipted_message_id and ``id:`` are the message_id of our
submit_sm_resp. The operator must see each part exactly as the customer built
it, so the handset can join them again.
"""

from __future__ import annotations

import asyncio

import pytest
from aiosmpplib import DeliverSm as AioDeliverSm
from aiosmpplib import EnquireLink
from redis.asyncio import Redis

from engine.gateway import Gateway
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.constants import EsmClass
from smpp.reassembly import concatenation_numbers, parse_udh
from smpp.receipt import MessageState
from smpp.text import decode_text
from smpp.tlv import Tag
from tests.engine.gateway_harness import PRICE
from tests.engine.peers import (
    WAIT,
    AiosmpplibCustomer,
    Exchange,
    RecordingSmsc,
    aiosmpplib_message,
    balance_and_held,
    gateway_with,
    receipt_ids,
    recording_operator,
    smpplib_session,
    until,
)

pytestmark = pytest.mark.parametrize("backend", ["memory", "redis"])

SHORT_GSM = "Pay €5 @ MyBank: code 482913"
"""€ takes the GSM escape table (1B 65), @ is septet 00."""
LONG_GSM = (
    "MyBank: your statement for March is ready. Balance 1234.56 EUR; "
    "3 card payments are pending (Café Rouge 12.50, Books & Co 30.00, Metro 2.10). "
    "Log in to the app to see every line and download the PDF. "
    "If you did not make one of these payments, call us at once on +33 1 23 45 67 89, "
    "24 hours a day, 7 days a week. Thank you for banking with us!"
)
LONG_UCS2 = (
    "Ваш код подтверждения 482913 🔐. Никому не сообщайте этот код, сотрудники банка"
    " никогда не спрашивают этот код. Если это были не вы, позвоните в банк 🏦."
)
MESSAGES = {
    "short-gsm": (SHORT_GSM, False, 1),
    "long-gsm": (LONG_GSM, False, 3),
    "long-ucs2-emoji": (LONG_UCS2, True, 3),
}
"""Text, UCS-2 or not, and the parts both libraries split it into."""
CREDIT = 20 * PRICE


def handset_text(parts: list[p.SubmitSm]) -> str:
    """What the handset shows once it joined the parts the operator got."""
    if len(parts) == 1 and not parts[0].esm_class & EsmClass.UDHI:
        return decode_text(parts[0].short_message, parts[0].data_coding)
    numbered = []
    for part in parts:
        elements, payload = parse_udh(part.short_message)
        numbers = concatenation_numbers(elements)
        assert numbers is not None and numbers.total == len(parts)
        numbered.append((numbers.sequence, payload))
    joined = b"".join(payload for _, payload in sorted(numbered))
    return decode_text(joined, parts[0].data_coding)


async def check_exchange(
    gateway: Gateway, operator: RecordingSmsc, exchange: Exchange, text: str, parts: int
) -> None:
    """Every part accepted with its own id, receipted with that id, billed once,
    and handed to the operator as the customer built it."""
    assert len(exchange.sent) == parts
    assert [sent.status for sent in exchange.sent] == [S.ESME_ROK] * parts
    ids = [sent.message_id for sent in exchange.sent]
    assert all(ids) and len(set(ids)) == parts
    assert sorted(receipt_ids(exchange.receipts)) == sorted(ids)
    for receipt in exchange.receipts:
        assert receipt.esm_class == EsmClass.DELIVERY_RECEIPT
        assert receipt.tlvs[Tag.MESSAGE_STATE] == MessageState.DELIVERED
        our_id = receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID]
        assert receipt.short_message.startswith(f"id:{our_id} ".encode())
        assert b"stat:DELIVRD" in receipt.short_message
    customer_parts = [
        (s.submit.data_coding, s.submit.esm_class, s.submit.short_message) for s in exchange.sent
    ]
    operator_parts = [(s.data_coding, s.esm_class, s.short_message) for s in operator.submitted]
    assert sorted(operator_parts) == sorted(customer_parts)
    assert handset_text(operator.submitted) == text
    assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE * parts, 0)


@pytest.mark.parametrize("message", MESSAGES)
async def test_smpplib_customer_gets_receipts_with_our_ids(
    backend: str, redis_client: Redis, namespace: str, message: str
) -> None:
    text, ucs2, parts = MESSAGES[message]
    operator = recording_operator()
    async with gateway_with(backend, [operator], redis_client, namespace, credit=CREDIT) as gateway:
        session = asyncio.to_thread(smpplib_session, gateway.ports[0], "bank", text, ucs2)
        exchange = await asyncio.wait_for(session, 3 * WAIT)
        await check_exchange(gateway, operator, exchange, text, parts)


@pytest.mark.parametrize("message", MESSAGES)
async def test_aiosmpplib_customer_gets_receipts_with_our_ids(
    backend: str, redis_client: Redis, namespace: str, message: str
) -> None:
    text, ucs2, parts = MESSAGES[message]
    operator = recording_operator()
    async with (
        gateway_with(backend, [operator], redis_client, namespace, credit=CREDIT) as gateway,
        AiosmpplibCustomer(gateway.ports[0], "bank") as customer,
    ):
        outgoing = aiosmpplib_message(text, ucs2, udh_split=parts > 1)
        outgoing.log_id = f"order-{message}"
        await customer.esme.broker.enqueue(outgoing)

        def answered() -> bool:
            exchange = customer.exchange()
            return len(exchange.receipts) >= parts and len(exchange.sent) >= parts

        await customer.wait_until(answered)
        await check_exchange(gateway, operator, customer.exchange(), text, parts)
        # aiosmpplib itself matched our receipt to its submit through our id.
        receipts = [
            m for m in customer.log.understood if isinstance(m, AioDeliverSm) and m.is_receipt()
        ]
        assert receipts and {r.log_id for r in receipts} == {outgoing.log_id}


async def test_aiosmpplib_long_text_in_message_payload_gets_one_receipt(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    """aiosmpplib's default for a long text is message_payload (§5.3.2.32): one
    message, one id, split and billed per part by us, and one final receipt."""
    parts = MESSAGES["long-ucs2-emoji"][2]
    operator = recording_operator()
    async with (
        gateway_with(backend, [operator], redis_client, namespace, credit=CREDIT) as gateway,
        AiosmpplibCustomer(gateway.ports[0], "bank") as customer,
    ):
        outgoing = aiosmpplib_message(LONG_UCS2, ucs2=True, udh_split=False)
        await customer.esme.broker.enqueue(outgoing)
        await customer.wait_until(lambda: len(customer.exchange().receipts) >= 1)
        [sent] = customer.exchange().sent
        assert Tag.MESSAGE_PAYLOAD in sent.submit.tlvs and sent.status == S.ESME_ROK
        assert len(operator.submitted) == parts
        assert handset_text(operator.submitted) == LONG_UCS2
        assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE * parts, 0)
        # Every operator receipt matched; an enquire_link answered after them
        # comes behind anything they made us send on this bind.
        await until(lambda: gateway.pipeline.counters["receipts"] == parts)
        await gateway.pipeline.drain()
        await customer.esme.broker.enqueue(EnquireLink())
        await customer.wait_until(
            lambda: any(isinstance(r, p.EnquireLinkResp) for r in customer.log.incoming)
        )
        assert receipt_ids(customer.exchange().receipts) == [sent.message_id]
