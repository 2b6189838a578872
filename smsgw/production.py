"""`smsgw serve`: one shard on the real backends.

Redis (``SMSGW_REDIS_URL``) holds balances, holds, outboxes and receipt
correlation; PostgreSQL (``SMSGW_DATABASE_URL``) receives the ledger and
message events through a persister running in this process (or, with
``persister_in_process = false``, in `smsgw ledger persist`). Both must answer,
and the schema be migrated, before anything starts (`smsgw.dependencies`).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import msgspec
import structlog
from redis.exceptions import RedisError

from api.console import install_console
from engine.billing.alerts import redis_claim
from engine.billing.facade import Billing
from engine.billing.rate_store import ExchangeRates, RedisRateStore
from engine.config import GatewayConfig
from engine.console import ConsoleUsers, RedisConsoleUserStore
from engine.console.config import ConsoleSecretError, console_secret
from engine.console.dashboard_sampler import DashboardSampler
from engine.customers.api_keys import RedisApiKeyStore
from engine.customers.idempotency import RedisIdempotencyStore
from engine.facade import Engine, ReadyCheck
from engine.fraud.guard import FraudGuard
from engine.fraud.install import install_fraud_guard
from engine.fraud.redis_store import RedisFraudStore
from engine.fraud.store import FraudStore
from engine.gateway import Gateway
from engine.loop.cancelling import cancelled
from engine.message_templates import MessageTemplates, RedisTemplateStore
from engine.messages.receipt_map import RedisReceiptMap
from engine.numbers import PortabilityFileError, PortabilityFiles, install_portability
from engine.optout.install import install_optout
from engine.optout.store import RedisOptOutStore
from engine.resellers.margins import MarginSettlement
from engine.resellers.service import Resellers
from engine.senders.install import install_senders
from engine.senders.store import RedisSenderStore
from engine.shard.parking import RedisParking
from engine.shard.registry import RedisShardRegistry
from engine.verify.codes import CodeHasher
from engine.verify.send_limits import RedisSendLimiter, SendLimits
from engine.verify.service import VerifyService
from engine.verify.stats import RedisVerifyCounts
from engine.verify.store import RedisVerificationStore
from engine.webhooks import RedisDeliveryLog
from ledger.message_query import PgMessageQuery
from ledger.persister import Persister
from ledger.persister_metrics import PersisterMetrics
from ledger.pgstore import EventStore
from ledger.redis_client import RedisClient, open_redis
from ledger.redis_ledger import BucketCountMismatch, RedisLedger
from ledger.usage import PgUsageQuery
from smsgw.command_settings import DEFAULT_REDIS_URL
from smsgw.dependencies import redacted, wait_for_database, wait_for_redis
from smsgw.preflight import StartupError, listen_error
from smsgw.readiness import database_check, persisted_through, persister_check, redis_check

log = structlog.get_logger("smsgw")

REDIS_CONNECTIONS = 64
"""Connections per shard (per node on a Cluster); on one node callers wait
for a free one rather than fail (`ledger.redis_client.open_redis`)."""


async def shard_redis(
    url: str, timeout: float, connections: int = REDIS_CONNECTIONS
) -> RedisClient:
    """The shard's Redis client, of one node or of a Cluster as the server
    says: a call that gets no answer within ``timeout`` is sent once more on a
    fresh connection, then fails. Every script may run twice that way, which
    the ledger's idempotency allows."""
    return await open_redis(url, timeout=timeout, connections=connections)


async def start_production(
    config: GatewayConfig, stack: AsyncExitStack, database_url: str | None
) -> Engine:
    """Start the shard once its backends answer; returns its facade (``.gateway``
    is the shard). Each part's closing goes on ``stack`` as the part starts, so
    a failure part-way, like the end, closes what was opened, newest first.
    ``database_url`` None runs with nothing durable beyond Redis (--no-database)."""
    console_key = _console_secret(config)
    redis_url = os.environ.get("SMSGW_REDIS_URL", DEFAULT_REDIS_URL)
    await wait_for_redis(redis_url, config.startup.wait)
    if database_url:
        await wait_for_database(database_url, config.startup.wait)
    redis = await shard_redis(redis_url, config.limits.redis_timeout)
    stack.push_async_callback(_logged("redis", redis.aclose))
    namespace = config.ledger.namespace
    history = None
    persisting = None
    checks: list[ReadyCheck] = [redis_check(redis)]
    if database_url:
        history = PgMessageQuery(database_url)
        stack.push_async_callback(_logged("message history", history.aclose))
        checks.append(database_check(history))
        if config.persister_in_process:
            reading = config.persister.block_ms / 1000 + config.limits.redis_timeout
            persister_redis = await shard_redis(redis_url, reading, connections=2)
            persisting = _InProcessPersister(persister_redis, database_url, config)
            stack.push_async_callback(_logged("persister", persisting.close))
        task = persisting.task if persisting is not None else None
        checks.append(persister_check(redis, config.ledger, task))
    rates = ExchangeRates(RedisRateStore(redis, namespace))
    await rates.load()
    gateway = Gateway(
        config,
        RedisLedger(redis, config.ledger, shard=config.shard),
        RedisReceiptMap(redis, namespace, config.limits.receipt_ttl),
        RedisParking(
            redis,
            namespace,
            max_per_account=config.limits.parked_receipts_per_account,
            idle_ttl=int(config.limits.validity_max),
            buckets=config.ledger.buckets,
        ),
        RedisDeliveryLog(redis, namespace, config.webhooks.log_length, config.webhooks.log_ttl),
        history,
        RedisShardRegistry(
            redis,
            namespace,
            config.shard,
            heartbeat_ttl=config.limits.shard_heartbeat_ttl,
            claim_ttl=config.limits.shard_claim_ttl,
        ),
        rates=rates,
        low_balance_claim=redis_claim(redis, namespace),
    )
    if persisting is not None:
        gateway.registry.register(persisting.metrics)
    optout = await install_optout(gateway, RedisOptOutStore(redis, namespace), config.optout, redis)
    senders = await install_senders(gateway, RedisSenderStore(redis, namespace), redis)
    guard = await _fraud_guard(gateway, RedisFraudStore(redis, namespace, config.shard), stack)
    stack.push_async_callback(_logged("gateway", gateway.stop))
    await _portability(gateway, stack)
    await _start_gateway(gateway, redis_url)
    billing = Billing(gateway, rates, database_url, persisted_through(redis, config.ledger))
    stack.push_async_callback(_logged("billing", billing.close))
    engine = Engine(
        gateway,
        RedisApiKeyStore(redis, namespace),
        history,
        RedisIdempotencyStore(redis, namespace),
        checks,
        redis,
        billing,
    )
    engine.protection.optout = optout
    engine.protection.fraud = guard
    engine.platform.senders = senders
    engine.platform.templates = MessageTemplates(
        RedisTemplateStore(redis, namespace), config.templates
    )
    if console_key is not None:
        users = ConsoleUsers(RedisConsoleUserStore(redis, namespace), gateway.logins)
        install_console(engine, users, console_key, config.console.secure_cookies)
        _dashboard(engine, database_url, stack)  # only the console's pages read it
    margins = (
        MarginSettlement(database_url, gateway.ledger, persisted_through(redis, config.ledger))
        if database_url
        else None
    )
    if margins is not None:
        stack.push_async_callback(_logged("reseller margins", margins.close))
    engine.platform.resellers = Resellers(engine.admin, margins)
    engine.verify = VerifyService(
        engine,
        RedisVerificationStore(redis, namespace),
        RedisSendLimiter(redis, namespace, SendLimits.of(config.verify)),
        config.verify,
        _verify_hasher(),
        observer=guard.conversion if guard is not None else None,
        counts=RedisVerifyCounts(redis, namespace),
    )
    stack.push_async_callback(optout.drain)
    loop = asyncio.get_running_loop()
    for watch in (engine.admin.watch(redis), optout.watch(redis)):
        stack.push_async_callback(cancelled, loop.create_task(watch))
    stack.push_async_callback(senders.drain)
    stack.push_async_callback(cancelled, loop.create_task(senders.watch(redis)))
    return engine


async def _fraud_guard(
    gateway: Gateway, store: FraudStore, stack: AsyncExitStack
) -> FraudGuard | None:
    """The fraud guard when ``[fraud] enabled``, on the accept path after the
    opt-out lists (an opted-out number is not counted)."""
    config = gateway.config
    if not config.fraud.enabled:
        return None
    settings = {a.id: a.fraud for a in config.accounts if a.fraud is not None}
    guard = install_fraud_guard(gateway, store, config.fraud, settings)
    await guard.start()
    stack.push_async_callback(_logged("fraud guard", guard.stop))
    return guard


async def _portability(gateway: Gateway, stack: AsyncExitStack) -> None:
    """The ported numbers of ``[portability] file``, read before the shard
    takes traffic and swapped in again whenever the file or its deltas change."""
    settings = gateway.config.portability
    if not settings.file:
        return
    files = PortabilityFiles(settings, functools.partial(install_portability, gateway))
    try:
        await files.start()
    except (OSError, PortabilityFileError) as exc:
        raise StartupError(f"[portability] {exc}") from None
    stack.push_async_callback(_logged("portability", files.stop))


def _console_secret(config: GatewayConfig) -> bytes | None:
    """The console's cookie secret when ``[console] enabled``: checked before
    anything starts, so a console without one never comes up half-configured."""
    if not config.console.enabled:
        return None
    try:
        return console_secret(config.console)
    except ConsoleSecretError as exc:
        raise StartupError(f"[console] {exc}") from None


def _verify_hasher() -> CodeHasher:
    """Verify codes are kept as an HMAC keyed by ``SMSGW_VERIFY_SECRET``, the
    same on every shard and never in Redis; without it, salted hashes only."""
    secret = os.environ.get("SMSGW_VERIFY_SECRET", "")
    if not secret:  # a shard that never serves Verify needs none: not a warning
        log.info("SMSGW_VERIFY_SECRET is not set: Verify codes are kept as salted hashes only")
    return CodeHasher(secret.encode())


async def _start_gateway(gateway: Gateway, redis_url: str) -> None:
    """`Gateway.start`, with what can go wrong there said in one line."""
    try:
        await gateway.start()
    except BucketCountMismatch as exc:
        raise StartupError(
            f"{exc} — set [ledger] buckets as the namespace was built, or use a new namespace"
        ) from None
    except OSError as exc:  # an SMPP port taken since the preflight check
        raise listen_error("an SMPP listener (listeners)", exc) from None
    except RedisError as exc:
        raise StartupError(
            f"Redis at {redacted(redis_url)} failed while the shard started ({exc}) — "
            "check Redis and start again"
        ) from None


def _dashboard(engine: Engine, database_url: str | None, stack: AsyncExitStack) -> None:
    """The console's live figures (sampled in this process) and usage query."""
    sampler = DashboardSampler(engine.gateway)
    sampler.start()
    stack.push_async_callback(sampler.stop)
    engine.platform.dashboard = sampler
    if database_url:
        usage = PgUsageQuery(database_url)
        stack.push_async_callback(_logged("usage query", usage.aclose))
        engine.platform.usage = usage


def _logged(part: str, close: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """``close``, its failure logged rather than raised: the parts after it
    still close, and the reason the shard stopped is not replaced."""

    async def closing() -> None:
        try:
            await close()
        except Exception:
            log.exception("closing failed", part=part)

    return closing


class _InProcessPersister:
    """The persister running inside the shard (``persister_in_process``), on a
    Redis client of its own (``redis``, closed with it): a blocking read
    outlasts the shard's timeout."""

    def __init__(self, redis: RedisClient, database_url: str, config: GatewayConfig) -> None:
        self.store = EventStore(database_url)
        self.redis = redis
        settings = msgspec.structs.replace(  # see linger_ms and in_process_batch_size
            config.persister, linger_ms=0, batch_size=config.persister.in_process_batch_size
        )
        self.persister = Persister(self.redis, self.store, config.ledger, settings)
        self.metrics = PersisterMetrics(self.persister, self.redis)
        loop = asyncio.get_running_loop()
        self.task = loop.create_task(self.persister.run())
        self.lag_task = loop.create_task(self.metrics.run())

    async def close(self) -> None:
        """Stops it, then drains once more what the shard wrote."""
        self.lag_task.cancel()
        self.persister.stop()  # returns within one blocking read (block_ms)
        try:
            await self.task
            await self.persister.drain()
        finally:
            await self.store.close()
            await self.redis.aclose()
