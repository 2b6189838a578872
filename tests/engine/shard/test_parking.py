"""A receipt reaches the customer on whichever shard holds its receiving bind."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from engine.shard.parking import RedisParking, pack, unpack
from smpp import pdu as p
from smpp.aio import SmppConnection, open_session
from smpp.receipt import MessageState
from smpp.tlv import Tag
from tests.cluster import ON_BOTH
from tests.engine.gateway_harness import OTP, PASSWORD, Customer, running_gateway, simulator

pytestmark = ON_BOTH


async def bind(port: int, customer: Customer, kind: type[p.Pdu]) -> SmppConnection:
    return await open_session(
        "127.0.0.1",
        port,
        kind(system_id="bank", password=PASSWORD),
        customer,  # type: ignore[call-arg]
    )


async def test_a_receipt_parked_by_one_shard_is_sent_by_the_shard_with_the_bind(
    redis_client: Redis, namespace: str
) -> None:
    async with (
        running_gateway("redis", [simulator()], redis_client, namespace, shard="a") as shard_a,
        running_gateway(
            "redis", [simulator()], redis_client, namespace, shard="b", credit_accounts=False
        ) as shard_b,
    ):
        sender, receiver = Customer(), Customer()
        transmitter = await bind(shard_a.ports[0], sender, p.BindTransmitter)
        listening = await bind(shard_b.ports[0], receiver, p.BindReceiver)
        response = await transmitter.call(OTP)
        receipt = await asyncio.wait_for(receiver.delivered.get(), 10)
        assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == response.message_id
        assert receipt.tlvs[Tag.MESSAGE_STATE] == MessageState.DELIVERED
        assert sender.delivered.empty()
        await transmitter.unbind()
        await listening.unbind()


async def test_a_parked_receipt_waits_for_the_accounts_first_receiving_bind(
    redis_client: Redis, namespace: str
) -> None:
    async with running_gateway("redis", [simulator()], redis_client, namespace) as gateway:
        sender = Customer()
        transmitter = await bind(gateway.ports[0], sender, p.BindTransmitter)
        response = await transmitter.call(OTP)
        key = RedisParking(redis_client, namespace, max_per_account=1, idle_ttl=1).key("bank")
        for _ in range(200):
            if await redis_client.llen(key):
                break
            await asyncio.sleep(0.02)
        assert await redis_client.llen(key) == 1
        receiver = Customer()
        listening = await bind(gateway.ports[0], receiver, p.BindReceiver)
        receipt = await asyncio.wait_for(receiver.delivered.get(), 10)
        assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == response.message_id
        assert await redis_client.llen(key) == 0
        await transmitter.unbind()
        await listening.unbind()


async def test_parked_lists_keep_the_newest_within_the_cap_and_say_who_waits(
    redis_client: Redis, namespace: str
) -> None:
    parking = RedisParking(redis_client, namespace, max_per_account=3, idle_ttl=60)
    async with redis_client.pipeline(transaction=False) as pipe:
        parking.push(
            pipe,
            "bank",
            [pack(time.time() + 60, p.DeliverSm(short_message=b"%d" % i)) for i in range(5)],
        )
        parking.push(pipe, "shop", [pack(time.time() + 60, p.DeliverSm(short_message=b"shop"))])
        answers = await pipe.execute()
    assert [parking.dropped(answers[0]), parking.dropped(answers[3])] == [2, 0]
    kept = await redis_client.lrange(parking.key("bank"), 0, -1)
    assert [unpack(raw)[1].short_message for raw in kept] == [b"2", b"3", b"4"]
    assert await parking.waiting(["bank", "nobody", "shop"]) == ["bank", "shop"]
    assert parking.key("bank").startswith(f"{namespace}:{{b")
