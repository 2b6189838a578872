"""query_sm for a message this shard no longer remembers is answered from the message history."""

from __future__ import annotations

import asyncio

import pytest

from engine.messages.states import RecentStates
from ledger.memory_messages import MemoryMessageStore
from smpp import pdu as p
from smpp.aio import CommandFailed
from smpp.constants import CommandStatus as S
from smpp.receipt import MessageState
from tests.engine.gateway_harness import OTP, Customer, running_gateway, simulator


async def test_query_sm_falls_back_to_the_history() -> None:
    history = MemoryMessageStore()
    async with running_gateway("memory", [simulator()], history=history) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        sent = await connection.call(OTP)
        await asyncio.wait_for(customer.delivered.get(), 10)
        await gateway.pipeline.drain()
        gateway.pipeline.states = RecentStates(10)  # as after a restart, or on another shard
        answer = await connection.call(p.QuerySm(message_id=sent.message_id))
        assert answer.message_state == MessageState.DELIVERED and len(answer.final_date) == 16
        other = Customer()
        shop = await other.bind(gateway, "shop")
        with pytest.raises(CommandFailed) as refused:
            await shop.call(p.QuerySm(message_id=sent.message_id))
        assert refused.value.response.command_status == S.ESME_RQUERYFAIL
        await connection.unbind()
        await shop.unbind()
