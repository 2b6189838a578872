"""A whole gateway (either backend) with simulated operators, over loopback."""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from redis.asyncio import Redis

from bench.smsc_sim import SimulatedSmsc
from bench.smsc_sim_config import Delay, ReceiptSettings, SimulatorConfig
from engine.config import ApiConfig, GatewayConfig, GatewayLimits, ListenerConfig
from engine.customers.accounts import AccountConfig
from engine.customers.login_guard import SecurityConfig
from engine.customers.passwords import hash_password
from engine.gateway import Gateway
from engine.messages.receipt_map import MemoryReceiptMap, RedisReceiptMap
from engine.operators.connector_config import ConnectorConfig
from engine.shard.parking import RedisParking
from engine.shard.registry import RedisShardRegistry
from engine.webhooks import WebhookLimits
from ledger.config import LedgerConfig
from ledger.memory import MemoryLedger
from ledger.memory_messages import MemoryMessageStore
from ledger.protocol import Ledger
from ledger.redis_ledger import RedisLedger
from router import load_data
from smpp import pdu as p
from smpp.aio import SmppConnection, open_session

PASSWORD = "secret"
OTP = p.SubmitSm(
    source_addr="BANK",
    source_addr_ton=5,
    destination_addr="33612345678",
    short_message=b"Your code is 123456",
    registered_delivery=1,
)
"""A routed message (to 33...) that asks for a receipt."""
PRICE = 40_000
CREDIT = 10 * PRICE


def routing(connectors: list[str]) -> dict[str, object]:
    return {
        "currency": "EUR",
        "connectors": {c: {} for c in connectors},
        "tariffs": {"retail": {"rates": [{"prefix": "33", "price": PRICE}]}},
        "mt_routes": [
            {
                "id": "fr",
                "sell_tariff": "retail",
                "filters": {"destination_prefix": ["33"]},
                "target": {"kind": "failover", "connectors": connectors},
            }
        ],
        "mo_routes": [{"id": "replies", "target": {"kind": "static", "account": "bank"}}],
    }


def simulator(**overrides: object) -> SimulatedSmsc:
    receipts = ReceiptSettings(delay=Delay(fixed_ms=20))
    return SimulatedSmsc(SimulatorConfig(port=0, receipts=receipts, **overrides))  # type: ignore[arg-type]


def connector(name: str, port: int) -> ConnectorConfig:
    return ConnectorConfig(
        id=name,
        host="127.0.0.1",
        port=port,
        system_id="smsgw",
        password="x",
        throughput=5_000,
        response_timeout=2.0,
        reconnect_delay=0.05,
        reconnect_delay_max=0.2,
        retry_delay=0.01,
        retry_delay_max=0.05,
    )


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD, log2_n=10)


def account(account_id: str, **settings: Any) -> AccountConfig:
    """A customer account whose password is PASSWORD."""
    return AccountConfig(id=account_id, password_hash=password_hash(), **settings)


@asynccontextmanager
async def running_gateway(
    backend: str,
    operators: list[SimulatedSmsc],
    redis: Redis | None = None,
    namespace: str = "smsgw",
    credit: int = CREDIT,
    listeners: tuple[ListenerConfig, ...] = (ListenerConfig(port=0),),
    *,
    accounts: tuple[AccountConfig, ...] = (),
    connector_settings: dict[str, Any] | None = None,
    limits: GatewayLimits | None = None,
    api: ApiConfig | None = None,
    shard: str = "t1",
    credit_accounts: bool = True,
    history: MemoryMessageStore | None = None,
    webhooks: WebhookLimits | None = None,
    shards: RedisShardRegistry | None = None,
    connector_prefix: str = "op-",
    security: SecurityConfig | None = None,
) -> AsyncIterator[Gateway]:
    """A started gateway on ``backend`` ("memory" or "redis") bound to the
    ``operators``; every account starts with ``credit``. ``shards`` turns on
    the adoption of dead peers' outboxes (Redis only). Connectors are named
    ``connector_prefix`` and their operator's index."""
    accounts = accounts or (account("bank"), account("shop"))
    for operator in operators:
        await operator.start()
    names = [f"{connector_prefix}{i}" for i in range(len(operators))]
    connectors = tuple(
        msgspec.structs.replace(connector(name, operator.port), **(connector_settings or {}))
        for name, operator in zip(names, operators, strict=True)
    )
    config = GatewayConfig(
        listeners=listeners,
        accounts=accounts,
        connectors=connectors,
        routing=load_data(routing(names)),
        limits=limits or GatewayLimits(),
        api=api or ApiConfig(),
        shard=shard,
        webhooks=webhooks or WebhookLimits(private_networks=True),  # receivers are local
        security=security or SecurityConfig(),
    )
    ledger: Ledger
    parking = None
    if backend == "redis":
        assert redis is not None
        ledger = RedisLedger(redis, LedgerConfig(namespace=namespace), shard=shard)
        receipts = RedisReceiptMap(redis, namespace, 600)
        parking = RedisParking(redis, namespace, max_per_account=1_000, idle_ttl=600)
    else:
        ledger = MemoryLedger(shard=shard, tap=history.apply if history is not None else None)
        receipts = MemoryReceiptMap(600)  # type: ignore[assignment]
    gateway = Gateway(config, ledger, receipts, parking, history=history, shards=shards)
    await gateway.start()
    for item in accounts if credit_accounts else ():
        await ledger.adjust(item.id, credit, reason="test credit", reference=f"credit-{item.id}")
    try:
        yield gateway
    finally:
        await gateway.stop()
        await close_customers()
        for operator in operators:
            await operator.stop()


CUSTOMER_CONNECTIONS: weakref.WeakSet[SmppConnection] = weakref.WeakSet()
"""The customers' ends of their binds. The gateway's stop closes its own;
one left for the peer's EOF to close may still be open when pytest closes
the loop, and its transport then warns when collected, in whichever later
test the collector happens to run."""


async def close_customers() -> None:
    """Closes every customer's end and waits until each is closed."""
    for connection in list(CUSTOMER_CONNECTIONS):
        connection.close()
    async with asyncio.timeout(10):
        for connection in list(CUSTOMER_CONNECTIONS):
            await connection.wait_closed()
    CUSTOMER_CONNECTIONS.clear()


class Customer:
    """Our own ESME: collects deliver_sm, answers them OK."""

    def __init__(self) -> None:
        self.delivered: asyncio.Queue[p.Pdu] = asyncio.Queue()

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        connection.respond(p.response_to(request))
        self.delivered.put_nowait(request)

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        pass

    async def bind(self, gateway: Gateway, account: str = "bank") -> SmppConnection:
        bind = p.BindTransceiver(system_id=account, password=PASSWORD)
        connection = await open_session("127.0.0.1", gateway.ports[0], bind, self)
        CUSTOMER_CONNECTIONS.add(connection)
        return connection
