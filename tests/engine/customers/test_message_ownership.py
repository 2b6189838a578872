"""query_sm and cancel_sm find only the account's own messages, and only
from the source_addr they name when they name one (SMPP 3.4 §4.8.1, §4.9.1;
replace_sm's checks are in tests/engine/messages/test_replace.py)."""

from __future__ import annotations

import pytest

from engine.messages.states import RecentStates
from engine.operators.bind import BindState
from ledger.memory_messages import MemoryMessageStore
from smpp import pdu as p
from smpp.aio import CommandFailed, SmppConnection
from smpp.constants import CommandStatus as S
from smpp.receipt import MessageState
from tests.engine.gateway_harness import CREDIT, PRICE, Customer, running_gateway
from tests.engine.peers import SENDER, balance_and_held, recording_operator, submit, until

LATER = "000000010000000R"
"""schedule_delivery_time one hour from now: the message waits here."""


async def refusal(connection: SmppConnection, request: p.Pdu) -> int:
    with pytest.raises(CommandFailed) as caught:
        await connection.call(request)
    return caught.value.status


async def waiting(connection: SmppConnection) -> str:
    answer = await connection.call(submit(schedule_delivery_time=LATER))
    return answer.message_id  # type: ignore[attr-defined,no-any-return]


async def test_query_sm_checks_the_account_and_the_source() -> None:
    history = MemoryMessageStore()
    async with running_gateway("memory", [recording_operator()], history=history) as gateway:
        bank = await Customer().bind(gateway)
        shop = await Customer().bind(gateway, "shop")
        message_id = await waiting(bank)
        await gateway.pipeline.drain()
        for where in ("recent states", "history"):
            for source in (SENDER, ""):
                query = p.QuerySm(message_id=message_id, source_addr=source)
                answer = await bank.call(query)
                assert answer.message_state == MessageState.ENROUTE, where  # type: ignore[attr-defined]
            for connection, source in ((bank, "Other"), (shop, SENDER), (shop, "")):
                query = p.QuerySm(message_id=message_id, source_addr=source)
                assert await refusal(connection, query) == S.ESME_RQUERYFAIL, where
            gateway.pipeline.states = RecentStates(10)  # as on another shard
        await bank.unbind()
        await shop.unbind()


async def test_cancel_sm_checks_the_account_and_the_source() -> None:
    async with running_gateway("memory", [recording_operator()]) as gateway:
        bank = await Customer().bind(gateway)
        shop = await Customer().bind(gateway, "shop")
        message_id = await waiting(bank)
        for connection, source in ((bank, "Other"), (shop, SENDER), (shop, "")):
            cancel = p.CancelSm(message_id=message_id, source_addr=source)
            assert await refusal(connection, cancel) == S.ESME_RCANCELFAIL
        assert await balance_and_held(gateway, "bank") == (CREDIT, PRICE)
        answer = await bank.call(p.CancelSm(message_id=message_id, source_addr=SENDER))
        assert answer.command_status == S.ESME_ROK
        assert await balance_and_held(gateway, "bank") == (CREDIT, 0)
        await bank.unbind()
        await shop.unbind()


async def test_a_queued_message_named_from_another_source_stays_queued() -> None:
    """Queued in a connector's scheduler (its operator is gone) rather than
    waiting for its time: a wrong source leaves it there, the right one takes it."""
    operator = recording_operator()
    async with running_gateway("memory", [operator]) as gateway:
        bank = await Customer().bind(gateway)
        await operator.stop()
        connector = gateway.connectors["op-0"]
        await until(lambda: BindState.BOUND not in connector.state().binds)
        message_id = (await bank.call(submit())).message_id  # type: ignore[attr-defined]
        scheduler = gateway.schedulers["op-0"]
        await until(lambda: len(scheduler) == 1)
        cancel = p.CancelSm(message_id=message_id, source_addr="Other")
        assert await refusal(bank, cancel) == S.ESME_RCANCELFAIL
        assert len(scheduler) == 1
        answer = await bank.call(p.CancelSm(message_id=message_id, source_addr=SENDER))
        assert answer.command_status == S.ESME_ROK and len(scheduler) == 0
        await bank.unbind()
