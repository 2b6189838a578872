"""Administration of a running shard: accounts, credentials, credit, connectors, routing, stats.

The admin API (api/admin*.py) calls these through the facade (``engine.admin``).
Every change applies to this shard at once, in place: the account table,
connector and routing table are the very objects the pipeline and the SMPP
server read, mutated or swapped whole, never copied.

What reaches the other shards and what survives a restart:

- Balances, adjustments, account limits and the enabled flag live in the
  ledger (Redis): every shard sees them at once, and they survive restarts.
  API keys too (their store is in Redis). But a starting shard writes the
  limits of every account in its config file to the ledger, so for those
  accounts the file's credit_limit and throughput win again, and a disabled
  account is enabled again, unless the operator writes the change into the
  file as well.
- Accounts (settings, SMPP password hash) and routing documents are published
  on Redis pub/sub (``{namespace}:accounts``, ``{namespace}:routing``) when the
  shard has a Redis client; shards running `watch` apply them. A shard started
  later, or restarted, knows only its config file.
- Connectors change on this shard only, and a restart brings back the file's.

A connector stopped here keeps its queue: nothing queued is failed or lost.
Routing stops choosing it at once, and like any connector without a live bind
the gateway moves its queued messages to the next usable connector of their
route after ``failover_after``; the others wait for `start_connector`.
Changing a connector restarts that connector only, on the same queue.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import structlog
from msgspec import Meta
from redis.asyncio import Redis

from engine.accounts import AccountConfig
from engine.api_keys import ApiKey, ApiKeyStore
from engine.connector import Connector
from engine.connector_config import ConnectorConfig
from engine.gateway import Gateway
from engine.message import Priority
from engine.passwords import hash_password
from engine.scheduler import Scheduler
from engine.webhooks import check_webhook_url
from ledger.model import MAX_AMOUNT, AccountLimits, AdjustResult
from router import (
    ConfigIssue,
    Explanation,
    MessageFacts,
    RoutingConfig,
    RoutingConfigError,
    RoutingTable,
    explain_mo,
    explain_mt,
    load_data,
)

log = structlog.get_logger("smsgw.admin")

# Patterns end in ``$(?!\n)``: msgspec tests them with Python's ``re``, where
# ``$`` also matches before a final newline ("bank\n" would pass ``^...$``).
PriorityName = Literal["otp", "express", "normal", "bulk"]
AccountId = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9_.\-]{1,15}$(?!\n)",
        description="Also the SMPP system_id: 1 to 15 of A-Z a-z 0-9 _ . -",
    ),
]
SmppPassword = Annotated[
    str, Meta(pattern=r"^[!-~]{1,8}$(?!\n)", description="1 to 8 printable ASCII characters.")
]
Group = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$(?!\n)")]
Groups = Annotated[list[Group], Meta(max_length=64)]
Amount = Annotated[int, Meta(ge=0, le=MAX_AMOUNT)]
MaxBinds = Annotated[int, Meta(ge=0, le=1_000)]
BindThroughput = Annotated[int, Meta(ge=0, le=100_000)]
Window = Annotated[int, Meta(ge=1, le=1_000)]
WebhookSecret = Annotated[str, Meta(max_length=256, pattern=r"^[\x20-\x7e]*$(?!\n)")]

_PRIORITIES = {name.lower(): priority for name, priority in Priority.__members__.items()}
_PASSWORD_ALPHABET = string.ascii_letters + string.digits
_GENERATED_PASSWORD_LENGTH = 8
"""The most an SMPP password may hold (§4.1.1: 9 octets with the NUL)."""


class AdminRefused(Exception):
    """An admin operation refused with a stable ``code``; nothing was changed."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class NewAccount(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An account to create; without a password it cannot bind over SMPP."""

    id: AccountId
    password: SmppPassword | None = None
    groups: Groups = msgspec.field(default_factory=list)
    max_binds: MaxBinds = 4
    priority: PriorityName = "normal"
    latin1_allowed: bool = True
    credit_limit: Amount = 0
    throughput: Amount = 0
    """Parts per second across every shard; 0 is unlimited."""
    bind_throughput: BindThroughput = 0
    window: Window = 10
    webhook_url: Annotated[str, Meta(max_length=2048)] = ""
    webhook_secret: WebhookSecret = ""


class AccountChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to change in an account; an absent field stays as it is."""

    enabled: bool | None = None
    """False refuses every new message of the account at the ledger, on every shard."""
    groups: Groups | None = None
    max_binds: MaxBinds | None = None
    priority: PriorityName | None = None
    latin1_allowed: bool | None = None
    credit_limit: Amount | None = None
    throughput: Amount | None = None
    bind_throughput: BindThroughput | None = None
    window: Window | None = None
    webhook_url: Annotated[str, Meta(max_length=2048)] | None = None
    webhook_secret: WebhookSecret | None = None


class AccountView(msgspec.Struct, frozen=True, kw_only=True):
    """An account as the admin API shows it: never a password hash or a secret."""

    id: str
    enabled: bool
    groups: list[str]
    max_binds: int
    priority: PriorityName
    latin1_allowed: bool
    credit_limit: int
    throughput: int
    bind_throughput: int
    window: int
    webhook_url: str
    has_password: bool
    has_webhook_secret: bool
    binds: int
    """Live SMPP binds on this shard."""
    in_ledger: bool
    """False when the ledger does not know the account (it cannot send)."""


class ConnectorView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    running: bool
    """False after `stop_connector`, until `start_connector`."""
    binds: list[str]
    """State of each bind: connecting, bound, backing_off, stopped."""
    host: str
    port: int
    system_id: str
    bind: str
    binds_wanted: int
    window: int
    throughput: float
    queue_depth: int
    queue_by_priority: dict[str, int]
    in_flight: int
    waiting_retry: int
    submitted: int
    failed: int
    expired: int
    retried: int


class LedgerBatches(msgspec.Struct, frozen=True, kw_only=True):
    batches: int
    messages: int
    mean: float


class ShardStats(msgspec.Struct, frozen=True, kw_only=True):
    shard: str
    messages: dict[str, int]
    """The pipeline's counters since start: accepted, refused, submitted, ..."""
    queue_depth: dict[str, int]
    """Messages waiting per connector."""
    customer_binds: dict[str, int]
    held_deliveries: int
    webhooks: dict[str, int]
    webhooks_held: int
    ledger_batches: LedgerBatches


class _Published(msgspec.Struct, frozen=True):
    """One change on the pub/sub channels; ``shard`` is where it was made."""

    shard: str
    data: Any


class Administration:
    """The admin operations on one running shard."""

    def __init__(self, gateway: Gateway, api_keys: ApiKeyStore, redis: Redis | None = None) -> None:
        self.gateway = gateway
        self.api_keys = api_keys
        self.redis = redis
        namespace = gateway.config.ledger.namespace
        self.routing_channel = f"{namespace}:routing"
        self.accounts_channel = f"{namespace}:accounts"
        self.routing: RoutingConfig = gateway.config.routing or load_data({"currency": "EUR"})
        """The document of the table in use (the gateway's default when none was configured)."""
        self.stopped: set[str] = set()
        self._connectors_lock = asyncio.Lock()

    # -- accounts ---------------------------------------------------------------

    async def accounts(self) -> list[AccountView]:
        configs = sorted(self.gateway.accounts.values(), key=lambda account: account.id)
        return list(await asyncio.gather(*(self._view(account) for account in configs)))

    async def account(self, account_id: str) -> AccountView:
        return await self._view(self.known(account_id))

    def groups(self) -> list[str]:
        """Every group some account belongs to (groups are a field of accounts)."""
        return sorted({group for a in self.gateway.accounts.values() for group in a.groups})

    async def create_account(self, new: NewAccount) -> AccountView:
        if new.id in self.gateway.accounts:
            raise AdminRefused("account_exists", f"account {new.id!r} exists")
        _check_webhook(new.webhook_url)
        password_hash = await _hash(new.password) if new.password is not None else ""
        config = AccountConfig(
            id=new.id,
            password_hash=password_hash,
            groups=tuple(new.groups),
            max_binds=new.max_binds,
            priority=_PRIORITIES[new.priority],
            latin1_allowed=new.latin1_allowed,
            credit_limit=new.credit_limit,
            throughput=new.throughput,
            bind_throughput=new.bind_throughput,
            window=new.window,
            webhook_url=new.webhook_url,
            webhook_secret=new.webhook_secret,
        )
        limits = AccountLimits(credit_limit=new.credit_limit, throughput=new.throughput)
        await self.gateway.ledger.set_account(new.id, limits)
        await self._put_account(config)
        return await self._view(config)

    async def update_account(self, account_id: str, changes: AccountChanges) -> AccountView:
        config = self.known(account_id)
        fields = {
            name: value
            for name in changes.__struct_fields__
            if (value := getattr(changes, name)) is not None and name != "enabled"
        }
        if "webhook_url" in fields:
            _check_webhook(fields["webhook_url"])
        if "groups" in fields:
            fields["groups"] = tuple(fields["groups"])
        if "priority" in fields:
            fields["priority"] = _PRIORITIES[fields["priority"]]
        if {"credit_limit", "throughput"} & fields.keys() or changes.enabled is not None:
            state = await self.gateway.ledger.get_account(account_id)
            limits = state.limits if state is not None else AccountLimits()
            limits = msgspec.structs.replace(
                limits,
                credit_limit=fields.get("credit_limit", config.credit_limit),
                throughput=fields.get("throughput", config.throughput),
                enabled=limits.enabled if changes.enabled is None else changes.enabled,
            )
            await self.gateway.ledger.set_account(account_id, limits)
            if changes.enabled is False:
                binds = self.gateway.binds.of(account_id)
                await asyncio.gather(*(bind.unbind() for bind in binds), return_exceptions=True)
        updated = msgspec.structs.replace(config, **fields)
        if updated != config:
            await self._put_account(updated)
        return await self._view(updated)

    async def set_password(self, account_id: str, password: str | None) -> str | None:
        """Replace the account's SMPP password; returns the one generated when
        none was given (shown once: only its hash is kept). Binds made with the
        old password stay up."""
        config = self.known(account_id)
        generated = None
        if password is None:
            password = generated = "".join(
                secrets.choice(_PASSWORD_ALPHABET) for _ in range(_GENERATED_PASSWORD_LENGTH)
            )
        updated = msgspec.structs.replace(config, password_hash=await _hash(password))
        await self._put_account(updated)
        return generated

    async def api_keys_of(self, account_id: str) -> list[ApiKey]:
        self.known(account_id)
        return sorted(await self.api_keys.of_account(account_id), key=lambda k: k.created_at)

    async def adjust(
        self, account_id: str, amount: int, *, reason: str, reference: str
    ) -> AdjustResult:
        """A top-up (positive) or debit (negative) recorded in the ledger with
        its reason; the same reference again changes nothing (``duplicate``)."""
        self.known(account_id)
        return await self.gateway.ledger.adjust(
            account_id, amount, reason=reason, reference=reference
        )

    def known(self, account_id: str) -> AccountConfig:
        config = self.gateway.accounts.get(account_id)
        if config is None:
            raise AdminRefused("unknown_account", f"no account {account_id!r}")
        return config

    async def _view(self, config: AccountConfig) -> AccountView:
        state = await self.gateway.ledger.get_account(config.id)
        return AccountView(
            id=config.id,
            enabled=state is not None and state.limits.enabled,
            groups=list(config.groups),
            max_binds=config.max_binds,
            priority=config.priority.name.lower(),  # type: ignore[arg-type]
            latin1_allowed=config.latin1_allowed,
            credit_limit=config.credit_limit,
            throughput=config.throughput,
            bind_throughput=config.bind_throughput,
            window=config.window,
            webhook_url=config.webhook_url,
            has_password=bool(config.password_hash),
            has_webhook_secret=bool(config.webhook_secret),
            binds=self.gateway.binds.count(config.id),
            in_ledger=state is not None,
        )

    async def _put_account(self, config: AccountConfig) -> None:
        await self._publish(self.accounts_channel, config)
        self.gateway.accounts[config.id] = config

    # -- connectors ---------------------------------------------------------------

    def connectors(self) -> list[ConnectorView]:
        return [self._connector_view(name) for name in sorted(self.gateway.connectors)]

    def connector(self, connector_id: str) -> ConnectorView:
        self._connector(connector_id)
        return self._connector_view(connector_id)

    async def stop_connector(self, connector_id: str) -> ConnectorView:
        """Unbind it (after its in-flight window drains); its queue stays."""
        async with self._connectors_lock:
            connector = self._connector(connector_id)
            if connector_id not in self.stopped:
                self.stopped.add(connector_id)
                self._leave_routing(connector_id)
                await connector.stop(self.gateway.config.limits.drain_timeout)
        return self._connector_view(connector_id)

    async def start_connector(self, connector_id: str) -> ConnectorView:
        async with self._connectors_lock:
            connector = self._connector(connector_id)
            if connector_id in self.stopped:
                self._run(connector.config)
                self.stopped.discard(connector_id)
        return self._connector_view(connector_id)

    async def put_connector(self, config: ConnectorConfig) -> tuple[ConnectorView, bool]:
        """Create a connector, or change one by restarting it on the same queue
        (a stopped one stays stopped). True when created. Routes reach a new
        connector once the routing document names it."""
        async with self._connectors_lock:
            old = self.gateway.connectors.get(config.id)
            if old is None:
                self.gateway.schedulers[config.id] = Scheduler(config.queue_depth)
                self._run(config)
            elif old.config != config:
                if config.id not in self.stopped:
                    self._leave_routing(config.id)
                    await old.stop(self.gateway.config.limits.drain_timeout)
                self.gateway.schedulers[config.id].max_depth = config.queue_depth
                if config.id in self.stopped:
                    self.gateway.connectors[config.id] = Connector(
                        config, self.gateway.pipeline, scheduler=self.gateway.schedulers[config.id]
                    )
                else:
                    self._run(config)
        return self._connector_view(config.id), old is None

    def _run(self, config: ConnectorConfig) -> None:
        """A fresh connector on the connector's scheduler (a stopped one cannot start again)."""
        connector = Connector(
            config, self.gateway.pipeline, scheduler=self.gateway.schedulers[config.id]
        )
        self.gateway.connectors[config.id] = connector
        connector.start()

    def _leave_routing(self, connector_id: str) -> None:
        """Routing stops choosing it now, not at the gateway's next health check."""
        pipeline = self.gateway.pipeline
        usable = self.gateway.connectors if pipeline.usable is None else pipeline.usable
        pipeline.usable = frozenset(usable) - {connector_id}

    def _connector(self, connector_id: str) -> Connector:
        connector = self.gateway.connectors.get(connector_id)
        if connector is None:
            raise AdminRefused("unknown_connector", f"no connector {connector_id!r}")
        return connector

    def _connector_view(self, connector_id: str) -> ConnectorView:
        connector = self.gateway.connectors[connector_id]
        config = connector.config
        state = connector.state()
        return ConnectorView(
            id=connector_id,
            running=connector_id not in self.stopped,
            binds=[bind.value for bind in state.binds],
            host=config.host,
            port=config.port,
            system_id=config.system_id,
            bind=config.bind,
            binds_wanted=config.binds,
            window=config.window,
            throughput=config.throughput,
            queue_depth=state.queue_depth,
            queue_by_priority={
                priority.name.lower(): count
                for priority, count in connector.scheduler.depth_by_priority().items()
            },
            in_flight=state.in_flight,
            waiting_retry=state.waiting_retry,
            submitted=state.submitted,
            failed=state.failed,
            expired=state.expired,
            retried=state.retried,
        )

    # -- routing --------------------------------------------------------------------

    def routing_document(self) -> dict[str, Any]:
        """The routing table in use, in the format `put_routing` takes."""
        document: dict[str, Any] = _without_nulls(msgspec.to_builtins(self.routing))
        return document

    async def put_routing(self, data: object) -> RoutingConfig:
        """Check ``data`` whole (every issue with its place, RoutingConfigError),
        then swap the table atomically here and publish it to the other shards."""
        config = load_data(data)
        issues = [
            ConfigIssue(f"connectors.{name}", "no such connector on this shard")
            for name in config.connectors
            if name not in self.gateway.connectors
        ]
        if config.currency != self.routing.currency:
            issues.append(
                ConfigIssue(
                    "currency",
                    f"balances are kept in {self.routing.currency}; "
                    "changing the currency needs a restart with a migrated ledger",
                )
            )
        if issues:
            raise RoutingConfigError(issues)
        # Published first: if Redis fails, no shard has changed.
        await self._publish(self.routing_channel, msgspec.to_builtins(config))
        self._install(config)
        return config

    def explain(self, direction: Literal["mt", "mo"], facts: MessageFacts) -> Explanation:
        """Why the table in use routes ``facts`` as it does (see `router.explain`)."""
        table = self.gateway.pipeline.table
        if direction == "mo":
            return explain_mo(table, facts)
        return explain_mt(table, facts, self.gateway.pipeline.usable)

    def facts(
        self,
        *,
        source: str,
        destination: str,
        account: str = "",
        connector: str = "",
        content: str = "",
        data_coding: int = 0,
        priority: PriorityName | None = None,
        tags: Iterable[str] = (),
        at: datetime | None = None,
    ) -> MessageFacts:
        """The facts the pipeline would route on: the account's groups and
        default priority come from its settings, as for a real message."""
        config = self.known(account) if account else None
        default = config.priority.name.lower() if config is not None else "normal"
        return MessageFacts(
            source=source,
            destination=destination,
            now=at or datetime.now(UTC),
            account=account,
            groups=config.groups if config else (),
            connector=connector,
            content=content,
            data_coding=data_coding,
            priority=priority or default,  # type: ignore[arg-type]
            tags=tuple(tags),
        )

    def _install(self, config: RoutingConfig) -> None:
        self.gateway.pipeline.table = RoutingTable(config)
        self.routing = config

    # -- other shards ---------------------------------------------------------------

    async def _publish(self, channel: str, data: Any) -> None:
        if self.redis is not None:
            message = _Published(self.gateway.config.shard, msgspec.to_builtins(data))
            await self.redis.publish(channel, msgspec.json.encode(message))

    async def watch(self, redis: Redis) -> None:
        """Apply the routing documents and account changes other shards
        publish, until cancelled. A change that does not load is logged and
        skipped: the shard keeps what it has."""
        decode = msgspec.json.Decoder(_Published).decode
        async with redis.pubsub() as pubsub:
            await pubsub.subscribe(self.routing_channel, self.accounts_channel)
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                channel = message["channel"]
                channel = channel.decode() if isinstance(channel, bytes) else channel
                try:
                    published = decode(message["data"])
                    if published.shard != self.gateway.config.shard:
                        self._apply(channel, published.data)
                except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
                    log.error("published change refused", channel=channel, error=str(exc))

    def _apply(self, channel: str, data: Any) -> None:
        if channel == self.routing_channel:
            self._install(load_data(data))
            log.info("routing table replaced from another shard")
        elif channel == self.accounts_channel:
            config = msgspec.convert(data, AccountConfig)
            self.gateway.accounts[config.id] = config

    # -- stats ------------------------------------------------------------------------

    def stats(self) -> ShardStats:
        gateway = self.gateway
        registry = gateway.registry
        batches = int(registry.get_sample_value("smsgw_ledger_accept_batch_size_count") or 0)
        messages = int(registry.get_sample_value("smsgw_ledger_accept_batch_size_sum") or 0)
        return ShardStats(
            shard=gateway.config.shard,
            messages=dict(gateway.pipeline.counters),
            queue_depth={name: len(s) for name, s in sorted(gateway.schedulers.items())},
            customer_binds={
                account: count
                for account in sorted(gateway.accounts)
                if (count := gateway.binds.count(account))
            },
            held_deliveries=len(gateway.held),
            webhooks=dict(gateway.webhooks.counters),
            webhooks_held=gateway.webhooks.held,
            ledger_batches=LedgerBatches(
                batches=batches,
                messages=messages,
                mean=round(messages / batches, 2) if batches else 0.0,
            ),
        )


def _check_webhook(url: str) -> None:
    if url:
        try:
            check_webhook_url(url)
        except ValueError as exc:
            raise AdminRefused("invalid_webhook_url", str(exc)) from None


async def _hash(password: str) -> str:
    """scrypt is slow on purpose: off the event loop."""
    return await asyncio.to_thread(hash_password, password)


def _without_nulls(value: Any) -> Any:
    """The document without its absent (None) optional fields, as an operator writes it."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value
