"""What an operator's refusal does to a message along its failover route,
through a whole gateway over real sockets.

A temporary error is tried again then fails over (tests/engine/test_gateway.py);
throttling slows the connector and never fails over
(tests/engine/test_e2e_adversity.py); here, a permanent error ends the
message at once. The memory backend is enough: the route is under test, not
the ledger.
"""

from __future__ import annotations

import asyncio

from smpp.constants import CommandStatus as S
from smpp.receipt import MessageState, parse_receipt
from smpp.tlv import Tag
from tests.engine.gateway_harness import CREDIT, OTP, Customer, running_gateway, simulator
from tests.engine.peers import WAIT, balance_and_held


async def test_a_permanent_error_fails_at_once_and_never_fails_over() -> None:
    refusing = simulator(error_rate=1.0, error_status="ESME_RINVDSTADR")
    spare = simulator()
    async with running_gateway("memory", [refusing, spare]) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        response = await connection.call(OTP)
        receipt = await asyncio.wait_for(customer.delivered.get(), WAIT)
        assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == response.message_id
        assert receipt.tlvs[Tag.MESSAGE_STATE] == MessageState.UNDELIVERABLE
        text = parse_receipt(receipt.short_message)
        assert text is not None and text.err == f"{S.ESME_RINVDSTADR:03x}"
        assert refusing.stats.responses == {S.ESME_RINVDSTADR: 1}
        assert spare.stats.submits == 0
        assert await balance_and_held(gateway, "bank") == (CREDIT, 0)
        await connection.unbind()
