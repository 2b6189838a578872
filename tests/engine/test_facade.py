"""The facade the HTTP front uses, over a whole embedded gateway."""

from __future__ import annotations

import asyncio
import time

from engine.customers.api_keys import MemoryApiKeyStore
from engine.facade import Engine
from engine.messages.message import Priority
from engine.sending import SendItem
from tests.engine.gateway_harness import CREDIT, PRICE, running_gateway, simulator


def item(**fields: object) -> SendItem:
    return SendItem(**{"to": "33612345678", "sender": "Bank", "text": "code 1234", **fields})  # type: ignore[arg-type]


async def test_send_waits_for_the_operator_then_the_receipt() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        engine = Engine(gateway, MemoryApiKeyStore())
        account = gateway.accounts["bank"]
        [result], [waiter] = await engine.send(
            account, [item(priority=Priority.OTP)], wait_final=True
        )
        assert result.accepted and result.parts == 1 and result.price_per_part == PRICE
        assert waiter is not None
        outcome = await engine.wait("bank", result.message_id, waiter, time.time() + 5)
        assert outcome.reached and outcome.state == "DELIVERED"
        balance = await engine.balance("bank")
        assert balance is not None and balance.balance == CREDIT - PRICE


async def test_refusals_have_stable_codes() -> None:
    async with running_gateway("memory", [simulator()], credit=PRICE) as gateway:
        engine = Engine(gateway, MemoryApiKeyStore())
        account = gateway.accounts["bank"]
        results, _ = await engine.send(
            account, [item(to="4912345"), item(), item(), item(text="\u4e2d", data_coding=3)]
        )
        assert [r.refusal for r in results] == ["no_route", "", "no_credit", "unencodable"]


async def test_a_wait_that_times_out_releases_the_hold() -> None:
    # One submit per second on our side: the second message waits in the queue.
    async with running_gateway(
        "memory", [simulator()], connector_settings={"throughput": 1}
    ) as gateway:
        engine = Engine(gateway, MemoryApiKeyStore())
        account = gateway.accounts["bank"]
        await engine.send(account, [item()])
        deadline = time.time() + 0.3
        [result], [waiter] = await engine.send(account, [item(deadline=deadline)], wait_final=False)
        assert waiter is not None
        outcome = await engine.wait("bank", result.message_id, waiter, deadline)
        assert not outcome.reached
        await asyncio.sleep(0.05)
        await gateway.pipeline.drain()
        state = await gateway.ledger.get_account("bank")
        assert state is not None
        # The first message was sent and paid for; the second never left, its hold is back.
        assert outcome.released and outcome.state == "DELETED"
        assert (state.balance, state.held) == (CREDIT - PRICE, 0)


async def test_api_keys_authenticate_until_revoked() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        engine = Engine(gateway, MemoryApiKeyStore())
        record, key = await engine.issue_api_key("bank")
        assert (await engine.account_for_key(key)).id == "bank"  # type: ignore[union-attr]
        assert await engine.account_for_key(key + "x") is None
        assert await engine.account_for_key("nonsense") is None
        assert await engine.revoke_api_key("bank", record.key_id)
        assert await engine.account_for_key(key) is None
        assert (await engine.account_for_password("bank", "secret")).id == "bank"  # type: ignore[union-attr]
        assert await engine.account_for_password("bank", "wrong") is None
