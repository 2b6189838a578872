"""The issue's scenario over real sockets, on both backends: a STOP from a
number lists it for the account the MO is routed to and is confirmed; that
account's messages to it are then refused (nothing held or charged), another
account's pass unless the number is on the global list."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis

from bench.smsc_sim import SimulatedSmsc
from engine.gateway import Gateway
from engine.optout.config import AccountOptOut, OptOutConfig
from engine.optout.install import install_optout
from engine.optout.service import OptOut
from engine.optout.store import MemoryOptOutStore, OptOutStore, RedisOptOutStore
from smpp import pdu as p
from smpp.aio import CommandFailed, SmppConnection
from smpp.constants import CommandStatus as S
from tests.cluster import ON_EACH_BACKEND
from tests.engine.gateway_harness import CREDIT, OTP, PRICE, Customer, running_gateway, simulator

pytestmark = ON_EACH_BACKEND
FR = "33611111111"
SHORT_CODE = "36000"
WAIT = 10.0


class Shard(msgspec.Struct, kw_only=True):
    gateway: Gateway
    optout: OptOut
    operator: SimulatedSmsc
    customer: Customer
    bank: SmppConnection


@asynccontextmanager
async def running(
    backend: str, redis: Redis, namespace: str, config: OptOutConfig | None = None
) -> AsyncIterator[Shard]:
    operator = simulator()
    client = redis if backend == "redis" else None
    async with running_gateway(backend, [operator], client, namespace) as gateway:
        store: OptOutStore = (
            RedisOptOutStore(redis, namespace) if client is not None else MemoryOptOutStore()
        )
        optout = await install_optout(gateway, store, config, client)
        customer = Customer()
        bank = await customer.bind(gateway)
        try:
            yield Shard(
                gateway=gateway, optout=optout, operator=operator, customer=customer, bank=bank
            )
        finally:
            await bank.unbind()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)


async def balance(gateway: Gateway, account: str) -> tuple[int, int]:
    await gateway.pipeline.drain()
    state = await gateway.ledger.get_account(account)
    assert state is not None
    return state.balance, state.held


def to(number: str, **fields: Any) -> p.SubmitSm:
    return msgspec.structs.replace(OTP, destination_addr=number, registered_delivery=0, **fields)


async def refused(connection: SmppConnection, request: p.SubmitSm) -> int:
    with pytest.raises(CommandFailed) as caught:
        await connection.call(request)
    return caught.value.status


async def stop(shard: Shard, text: str = "STOP", source: str = FR) -> p.DeliverSm:
    """An MO from ``source``, as the bank's bind gets it."""
    shard.operator.inject_mo(text, source=source, destination=SHORT_CODE, system_id="smsgw")
    mo = await asyncio.wait_for(shard.customer.delivered.get(), WAIT)
    assert isinstance(mo, p.DeliverSm)
    return mo


async def test_a_stop_lists_the_sender_for_the_account_and_is_confirmed(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running(backend, redis_client, namespace) as shard:
        gateway, counters = shard.gateway, shard.gateway.pipeline.counters
        mo = await stop(shard)
        assert (mo.source_addr, mo.short_message) == (FR, b"STOP")  # the customer still gets it
        assert shard.optout.listed("bank", FR) and not shard.optout.listed("shop", FR)
        await until(lambda: counters["submitted"] == 1)  # the confirmation, billed
        assert await balance(gateway, "bank") == (CREDIT - PRICE, 0)
        entry = await shard.optout.entry("bank", FR)
        assert entry is not None and entry.source == "mo"

        assert await refused(shard.bank, to(FR)) == S.ESME_RX_R_APPN
        assert await balance(gateway, "bank") == (CREDIT - PRICE, 0)  # nothing held or charged
        assert counters["refused"] == 1

        shop = await Customer().bind(gateway, "shop")
        await shop.call(to(FR))
        await until(lambda: counters["submitted"] == 2)
        await shard.optout.add(None, [FR], "admin")
        assert await refused(shop, to(FR)) == S.ESME_RX_R_APPN
        assert await balance(gateway, "shop") == (CREDIT - PRICE, 0)
        await shop.unbind()

        await stop(shard, " stop ")  # listed already: not told again
        await gateway.pipeline.drain()
        assert counters["submitted"] == 2 and counters["mo"] == 2


async def test_keywords_in_other_languages_and_other_texts(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running(backend, redis_client, namespace) as shard:
        await stop(shard, "لغو", source="989121234567")
        await stop(shard, "STOP sending me offers", source="33622222222")
        assert shard.optout.listed("bank", "989121234567")
        assert not shard.optout.listed("bank", "33622222222")


async def test_an_otp_passes_the_account_list_by_policy_never_the_global_one(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    config = OptOutConfig(reply="", accounts={"bank": AccountOptOut(otp_bypass=True)})
    async with running(backend, redis_client, namespace, config) as shard:
        await stop(shard)
        await shard.gateway.pipeline.drain()
        assert shard.gateway.pipeline.counters["accepted"] == 0  # reply "": no confirmation
        assert await refused(shard.bank, to(FR)) == S.ESME_RX_R_APPN
        await shard.bank.call(to(FR, priority_flag=3))
        await shard.optout.add(None, [FR], "admin")
        assert await refused(shard.bank, to(FR, priority_flag=3)) == S.ESME_RX_R_APPN
        assert await balance(shard.gateway, "bank") == (CREDIT - PRICE, 0)


async def test_a_list_that_cannot_be_written_makes_the_operator_resend_the_stop(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running(backend, redis_client, namespace) as shard:
        failing = FailingOnce(shard.optout.store)
        shard.optout.store = failing
        answers: list[int] = []
        mo = p.DeliverSm(source_addr=FR, source_addr_ton=1, destination_addr=SHORT_CODE,
                         short_message=b"STOP")  # fmt: skip
        shard.gateway.pipeline.mo.receive("op-0", mo, answers.append)
        await until(lambda: answers == [S.ESME_RX_T_APPN])
        assert not shard.optout.listed("bank", FR)
        shard.gateway.pipeline.mo.receive("op-0", mo, answers.append)  # the operator resends
        await until(lambda: answers == [S.ESME_RX_T_APPN, S.ESME_ROK])
        assert shard.optout.listed("bank", FR)


class FailingOnce:
    """A store whose first add fails, as a Redis that went away does."""

    def __init__(self, store: OptOutStore) -> None:
        self.store = store
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def add(self, account: str | None, entries: Any) -> list[str]:
        if not self.failed:
            self.failed = True
            raise ConnectionError("Redis went away")
        return await self.store.add(account, entries)
