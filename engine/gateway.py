"""One engine shard: wires ledger, routing table, schedulers, connectors,
pipeline and listeners together, and takes them down in order.

Shutdown is two-phase (the uvicorn habit): stop listening and accepting, let
connectors drain their in-flight windows within a timeout, unbind customers,
then close the ledger after its last batch.
"""

from __future__ import annotations

import asyncio
import ssl
import time

import msgspec
import structlog
from prometheus_client import CollectorRegistry

from engine.billing.alerts import Claim, LowBalanceAlerts, claim_here
from engine.billing.pricing import Pricer
from engine.billing.rate_store import ExchangeRates, MemoryRateStore
from engine.config import GatewayConfig, ListenerConfig
from engine.customers.accounts import AccountConfig, BindRegistry
from engine.customers.admission import Admission
from engine.customers.credit_gauge import CreditGauge
from engine.customers.delivery import CustomerDelivery
from engine.customers.held import HeldDeliveries
from engine.customers.logins import Logins
from engine.customers.pending import MemoryPending
from engine.customers.redis_pending import RedisPending
from engine.customers.sessions import CustomerSessions
from engine.gateway_metrics import GatewayCollector, register_runtime
from engine.messages.ids import MessageIds
from engine.messages.message import unpack_message
from engine.messages.metrics import PipelineMetrics
from engine.messages.pipeline import Pipeline
from engine.messages.receipt_map import ReceiptMap
from engine.messages.receipt_matcher import ReceiptIdRules, ReceiptLimits
from engine.operators.bind import BindState
from engine.operators.connector import Connector
from engine.operators.scheduler import Scheduler
from engine.shard.parking import RedisParking
from engine.shard.registry import OutboxTakeover, RedisShardRegistry
from engine.webhooks import DeliveryLog, MemoryDeliveryLog, WebhookDispatcher
from engine.webhooks.callbacks import WebhookCallbacks
from engine.webhooks.jasmin_dlr import jasmin_dlr_fields
from ledger.message_query import MessageQuery
from ledger.model import AccountLimits
from ledger.protocol import Ledger
from router import RoutingTable, load_data
from smpp.aio import start_server
from smpp.receipt import MessageState, is_final

log = structlog.get_logger("smsgw.gateway")


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        ledger: Ledger,
        receipts: ReceiptMap,
        parking: RedisParking | None = None,
        delivery_log: DeliveryLog | None = None,
        history: MessageQuery | None = None,
        shards: RedisShardRegistry | None = None,
        *,
        rates: ExchangeRates | None = None,
        low_balance_claim: Claim = claim_here,
    ) -> None:
        """``history``: the message history (PostgreSQL, or embedded mode's
        store), for query_sm and the HTTP API; None keeps none. ``shards``:
        the registry through which shards adopt a dead peer's outbox; None
        (embedded mode, one shard) recovers only this shard's outbox.
        ``rates``: the exchange rates that price messages in their accounts'
        currencies; ``low_balance_claim``: which shard tells of a low balance."""
        self.config = config
        self.ledger = ledger
        self.rates = rates or ExchangeRates(MemoryRateStore())
        """Exchange rates, loaded (`ExchangeRates.load`) before the shard starts."""
        self.accounts = {account.id: account for account in config.accounts}
        self.binds = BindRegistry(config.shard_number)
        self.schedulers = {c.id: Scheduler(c.queue_depth) for c in config.connectors}
        self.registry = CollectorRegistry()
        self.held = HeldDeliveries(config.limits.held_receipts_per_account)
        store = MemoryPending(ledger) if parking is None else RedisPending(parking, config.shard)
        self.delivery = CustomerDelivery(self.binds, self.held, self.accounts, store)
        routing = config.routing or load_data({"currency": "EUR"})
        new_id = MessageIds(config.shard_number)
        self.pipeline = Pipeline(
            ledger=ledger,
            table=RoutingTable(routing),
            schedulers=self.schedulers,
            receipts=receipts,
            delivery=self.delivery,
            accounts=self.accounts,
            validity=config.limits.validity,
            new_id=new_id,
            metrics=PipelineMetrics(self.registry),
            pricer=Pricer(self.rates, self.accounts),
            receipt_rules={
                c.id: ReceiptIdRules(c.receipt_id, c.receipt_id_source) for c in config.connectors
            },
            receipt_limits=ReceiptLimits(
                config.limits.unknown_receipt_keep, config.limits.unknown_receipts_max
            ),
            admission=Admission(config.limits.admission),
        )
        self.registry.register(self.pipeline.admission)
        self.connectors = {
            c.id: Connector(c, self.pipeline, scheduler=self.schedulers[c.id])
            for c in config.connectors
        }
        self.pipeline.begun = self._begun
        self.pipeline.receipt_seen = self._receipt_seen
        self.webhook_log = delivery_log or MemoryDeliveryLog(config.webhooks.log_length)
        self.webhooks = WebhookDispatcher(config.webhooks, self.webhook_log)
        self.pipeline.callbacks = WebhookCallbacks(
            self.webhooks, self.accounts, jasmin_fields=jasmin_dlr_fields
        )
        self.history = history
        self.logins = Logins(config.security)
        """Every password and key check of this shard, SMPP and HTTP alike."""
        self.registry.register(self.logins)
        self.sessions = CustomerSessions(
            self.accounts, self.binds, self.pipeline, history=history, logins=self.logins
        )
        self.registry.register(GatewayCollector(self))
        register_runtime(self.registry)
        self.low_balance = LowBalanceAlerts(self.accounts, self.webhooks, low_balance_claim)
        self.registry.register(self.low_balance)
        self.credit = CreditGauge(ledger, self.accounts, self.low_balance.observe)
        self.registry.register(self.credit)
        self.servers: list[asyncio.Server] = []
        self._background: set[asyncio.Task[None]] = set()
        self._watch: asyncio.Task[None] | None = None
        self._credit_task: asyncio.Task[None] | None = None
        self.takeover: OutboxTakeover | None = None
        if shards is not None:
            self.takeover = OutboxTakeover(
                shards,
                ledger,
                self.pipeline,
                interval=config.limits.shard_heartbeat_interval,
                made_here=new_id.made_here,
                adopt_also=self.delivery.recover,
            )
        self._takeover_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.ledger.start()
        for account in self.config.accounts:
            await self._apply_limits(account)
        self.webhooks.start()
        self.pipeline.admission.start()
        if self.takeover is None:
            await self._recover_outbox()
        else:
            await self.takeover.start(wait=self.config.limits.shard_claim_ttl)
        await self.delivery.recover()
        for connector in self.connectors.values():
            connector.start()
        for listener in self.config.listeners:
            self.servers.append(await self._listen(listener))
        loop = asyncio.get_running_loop()
        self._watch = loop.create_task(self._watch_connectors())
        self._credit_task = loop.create_task(self.credit.run())
        if self.takeover is not None:
            self._takeover_task = loop.create_task(self.takeover.run())
        log.info("gateway started", shard=self.config.shard, ports=self.ports)

    @property
    def ports(self) -> list[int]:
        return [server.sockets[0].getsockname()[1] for server in self.servers]

    def reload(self, config: GatewayConfig) -> dict[str, object]:
        """SIGHUP: swap the routing table whole and update accounts in place;
        binds stay up. Connector and listener changes need a restart."""
        if config.routing is not None:
            self.pipeline.table = RoutingTable(config.routing, ported=self.pipeline.table.ported)
        self.accounts.clear()
        self.accounts.update({account.id: account for account in config.accounts})
        for account in config.accounts:
            self._spawn_limits(account)
        restart = config.connectors != self.config.connectors or (
            config.listeners != self.config.listeners
        )
        return {"accounts": len(config.accounts), "restart_needed": restart}

    async def _apply_limits(self, account: AccountConfig) -> None:
        """The config's credit limit and throughput; whether the account is
        enabled and its quota stay as the ledger has them (the admin API sets
        those for every shard, and a shard starting must not undo them)."""
        known = await self.ledger.get_account(account.id)
        kept = known.limits if known is not None else AccountLimits()
        limits = msgspec.structs.replace(
            kept, credit_limit=account.credit_limit, throughput=account.throughput
        )
        await self.ledger.set_account(account.id, limits)

    def _spawn_limits(self, account: AccountConfig) -> None:
        task = asyncio.get_running_loop().create_task(self._apply_limits(account))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _watch_connectors(self) -> None:
        """Keep the router's view of live connectors fresh (bound, and in
        routing by their health), and move the queue of a connector down or
        out for longer than ``failover_after`` to the next one."""
        down_since: dict[str, float] = {}
        limits = self.config.limits
        while True:
            now = time.monotonic()
            live = frozenset(
                name
                for name, connector in self.connectors.items()
                if BindState.BOUND in connector.state().binds and connector.health.in_routing()
            )
            self.pipeline.usable = live
            for name in self.connectors:
                if name in live:
                    down_since.pop(name, None)
                elif now - down_since.setdefault(name, now) >= limits.failover_after:
                    for message in self.schedulers[name].drain():
                        self.pipeline.reroute(name, message)
            try:
                await self.delivery.claim_parked()
            except Exception:
                log.exception("claiming parked deliveries failed")
            await asyncio.sleep(limits.health_interval)

    async def stop(self) -> None:
        for task in (self._watch, self._takeover_task, self._credit_task):
            if task is not None:
                task.cancel()
        for server in self.servers:
            server.close()
        customers = list(self.binds.all())
        await asyncio.gather(*(c.unbind() for c in customers), return_exceptions=True)
        await asyncio.gather(
            *(c.stop(self.config.limits.drain_timeout) for c in self.connectors.values()),
            return_exceptions=True,
        )
        await self.pipeline.drain()
        self.pipeline.admission.stop()
        await self.delivery.drain()
        await self.webhooks.stop(self.config.limits.drain_timeout)
        for server in self.servers:
            await server.wait_closed()
        if self.takeover is not None:
            try:
                await self.takeover.release_all()
            except Exception:
                log.exception("releasing adopted outboxes failed")
        await self.ledger.aclose()
        self.logins.close()
        log.info("gateway stopped", shard=self.config.shard)

    def _begun(self, message_id: str) -> bool:
        """Connectors change at run time (admin API): asked of those there now."""
        return any(c.has_begun(message_id) for c in self.connectors.values())

    def _receipt_seen(self, connector_id: str, state: MessageState) -> None:
        """A final receipt counts in its connector's delivery ratio."""
        connector = self.connectors.get(connector_id)
        if connector is not None and is_final(state):
            connector.health.receipt(state is MessageState.DELIVERED)

    async def _recover_outbox(self) -> None:
        """What this shard accepted and never submitted goes out again (DESIGN: Sharding)."""
        recovered = 0
        async for entry in self.ledger.read_outbox():
            message = unpack_message(entry.payload)
            self.pipeline.outbox.remember(message.id, entry.entry_id)
            self.pipeline.enqueue(message)
            recovered += 1
        if recovered:
            log.info("outbox recovered", messages=recovered)

    async def _listen(self, listener: ListenerConfig) -> asyncio.Server:
        context = None
        if listener.tls_cert:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(listener.tls_cert, listener.tls_key or None)
        return await start_server(
            listener.host, listener.port, self.sessions, self.config.session, ssl=context
        )
