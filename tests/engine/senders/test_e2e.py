"""The account policies through the real pipeline, over SMPP and HTTP v1, on
each backend: "refuse" refuses an unapproved sender (ESME_RINVSRCADR,
``sender_not_approved``; nothing held), "rewrite" sends it from the
account's default sender, "open" lets anything go, and an approval made
while the gateway runs takes effect at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis

from bench.smsc_sim import SimulatedSmsc
from engine.senders.install import install_senders
from engine.senders.service import SenderRegistry
from engine.senders.store import MemorySenderStore, RedisSenderStore, SenderStore
from smpp import pdu as p
from smpp.aio import CommandFailed, SmppConnection
from smpp.constants import CommandStatus as S
from tests.api.harness import Api, running_api
from tests.cluster import ON_EACH_BACKEND
from tests.engine.gateway_harness import CREDIT, OTP, PRICE, Customer, account, simulator

pytestmark = ON_EACH_BACKEND
WAIT = 10.0
ACCOUNTS = (
    account("bank", sender_policy="refuse"),
    account("shop", sender_policy="rewrite", default_sender="ShopCo"),
    account("open"),
)


class Sent:
    """The submit_sm the simulated operator received, in order."""

    def __init__(self, operator: SimulatedSmsc) -> None:
        self.requests: asyncio.Queue[p.SubmitSm] = asyncio.Queue()
        handle = operator.request_received

        def received(connection: SmppConnection, request: p.Pdu) -> None:
            if isinstance(request, p.SubmitSm):
                self.requests.put_nowait(request)
            handle(connection, request)

        operator.request_received = received  # type: ignore[method-assign]

    async def next(self) -> p.SubmitSm:
        return await asyncio.wait_for(self.requests.get(), WAIT)


@asynccontextmanager
async def running(
    backend: str, redis: Redis, namespace: str
) -> AsyncIterator[tuple[Api, SenderRegistry, Sent]]:
    operator = simulator()
    sent = Sent(operator)
    client = redis if backend == "redis" else None
    async with running_api(
        backend, client, namespace, operators=[operator], accounts=ACCOUNTS
    ) as api:
        store: SenderStore = (
            RedisSenderStore(redis, namespace) if client is not None else MemorySenderStore()
        )
        registry = await install_senders(api.engine.gateway, store, client)
        api.engine.platform.senders = registry
        yield api, registry, sent


async def held(api: Api, account: str) -> tuple[int, int]:
    await api.engine.gateway.pipeline.drain()
    state = await api.engine.gateway.ledger.get_account(account)
    assert state is not None
    return state.balance, state.held


def sms(source: str, **fields: Any) -> p.SubmitSm:
    return msgspec.structs.replace(OTP, source_addr=source, registered_delivery=0, **fields)


async def refused(connection: SmppConnection, request: p.SubmitSm) -> int:
    with pytest.raises(CommandFailed) as caught:
        await connection.call(request)
    return caught.value.status


async def test_refuse_turns_away_an_unapproved_sender_until_it_is_approved(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running(backend, redis_client, namespace) as (api, registry, sent):
        bank = await Customer().bind(api.engine.gateway, "bank")
        assert await refused(bank, sms("MyBank")) == S.ESME_RINVSRCADR
        body = {"to": "33612345678", "from": "MyBank", "text": "hello"}
        answer = await api.client.post("/v1/messages", json=body, headers=api.auth("bank"))
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "sender_not_approved"
        assert "'MyBank' is not approved" in answer.json()["detail"]
        assert await held(api, "bank") == (CREDIT, 0)  # nothing held or charged
        assert api.engine.gateway.pipeline.counters["refused"] == 2

        await registry.request("bank", "MyBank", "our brand", by="api")
        assert await refused(bank, sms("MyBank")) == S.ESME_RINVSRCADR  # asked, not yet approved
        await registry.approve("bank", "MyBank", by="admin")
        await bank.call(sms("MyBank"))
        assert (await sent.next()).source_addr == "MyBank"
        answer = await api.client.post("/v1/messages", json=body, headers=api.auth("bank"))
        assert answer.status_code == 202, answer.text
        assert (await sent.next()).source_addr == "MyBank"
        assert await refused(bank, sms("MYBANK")) == S.ESME_RINVSRCADR  # case as given
        await bank.unbind()


async def test_rewrite_sends_an_unapproved_message_from_the_default_sender(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running(backend, redis_client, namespace) as (api, registry, sent):
        shop = await Customer().bind(api.engine.gateway, "shop")
        await shop.call(sms("+4915112345678", source_addr_ton=1, source_addr_npi=1))
        out = await sent.next()
        assert (out.source_addr, out.source_addr_ton, out.source_addr_npi) == ("ShopCo", 5, 0)
        body = {"to": "33612345678", "from": "Unknown", "text": "hello"}
        answer = await api.client.post("/v1/messages", json=body, headers=api.auth("shop"))
        assert answer.status_code == 202, answer.text
        assert (await sent.next()).source_addr == "ShopCo"
        await registry.approve("shop", "4915112345678", by="admin")
        await shop.call(sms("+4915112345678", source_addr_ton=1, source_addr_npi=1))
        out = await sent.next()
        assert (out.source_addr, out.source_addr_ton) == ("+4915112345678", 1)  # as given
        balance, holding = await held(api, "shop")
        assert balance - holding == CREDIT - 3 * PRICE  # each priced as any message
        await shop.unbind()


async def test_open_lets_any_sender_go(backend: str, redis_client: Redis, namespace: str) -> None:
    async with running(backend, redis_client, namespace) as (api, _, sent):
        body = {"to": "33612345678", "from": "Anything", "text": "hello"}
        answer = await api.client.post("/v1/messages", json=body, headers=api.auth("open"))
        assert answer.status_code == 202, answer.text
        assert (await sent.next()).source_addr == "Anything"
