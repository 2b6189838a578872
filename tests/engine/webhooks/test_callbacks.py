"""Receipts of HTTP messages reach the customer's webhook, signed, from the pipeline."""

from __future__ import annotations

import asyncio
import time

import orjson

from engine.customers.api_keys import MemoryApiKeyStore
from engine.facade import Engine
from engine.messages.message import Callback
from engine.sending import SendItem
from engine.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tests.engine.gateway_harness import account, running_gateway, simulator
from tests.engine.webhook_receiver import Receiver

SECRET = "whsec_bank"


async def test_a_receipt_is_posted_signed_to_the_messages_webhook(receiver: Receiver) -> None:
    accounts = (account("bank", webhook_secret=SECRET),)
    async with running_gateway("memory", [simulator()], accounts=accounts) as gateway:
        engine = Engine(gateway, MemoryApiKeyStore())
        item = SendItem(
            to="33612345678",
            sender="Bank",
            text="code 1234",
            reference="order-7",
            callback=Callback(url=receiver.url),
        )
        [result], _ = await engine.send(gateway.accounts["bank"], [item])
        await asyncio.wait_for(receiver.got_request.wait(), 10)
        [request] = receiver.requests
        assert request.method == "POST"
        assert verify_signature(
            SECRET,
            request.headers[TIMESTAMP_HEADER.lower()],
            request.body,
            request.headers[SIGNATURE_HEADER.lower()],
            time.time(),
        )
        body = orjson.loads(request.body)
        assert body["message_id"] == result.message_id
        assert (body["event"], body["state"], body["reference"]) == (
            "receipt",
            "delivered",
            "order-7",
        )
        assert body["to"] == "33612345678"
        for _ in range(200):  # the log is written after the answer, off the workers
            entries = await gateway.webhook_log.recent("bank", 10)
            if entries:
                break
            await asyncio.sleep(0.01)
        assert [entry.outcome for entry in entries] == ["delivered"]


async def test_a_message_without_a_webhook_sends_no_smpp_receipt_either() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        engine = Engine(gateway, MemoryApiKeyStore())
        item = SendItem(to="33612345678", sender="Bank", text="hello")
        [result], [waiter] = await engine.send(gateway.accounts["bank"], [item], wait_final=True)
        assert waiter is not None
        outcome = await engine.wait("bank", result.message_id, waiter, time.time() + 5)
        assert outcome.state == "DELIVERED"
        assert len(gateway.held) == 0  # nothing waits for an SMPP bind


async def test_jasmin_dlr_levels_one_and_two_reach_the_dlr_url(receiver: Receiver) -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        engine = Engine(gateway, MemoryApiKeyStore())
        callback = Callback(url=receiver.url, form="jasmin", method="GET", level=3)
        item = SendItem(to="33612345678", sender="Bank", text="hi", callback=callback)
        [result], _ = await engine.send(gateway.accounts["bank"], [item])
        for _ in range(300):
            if len(receiver.requests) == 2:
                break
            await asyncio.sleep(0.01)
        levels = {request.query["level"][0]: request.query for request in receiver.requests}
        assert set(levels) == {"1", "2"}
        assert levels["1"]["message_status"] == ["ESME_ROK"]
        assert levels["2"]["message_status"] == ["DELIVRD"]
        for query in levels.values():
            assert query["id"] == [result.message_id] and query["connector"] == ["op-0"]
        assert levels["2"]["id_smsc"][0]
