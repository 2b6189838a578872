"""Administration of a running shard: accounts, credentials, credit, connectors, routing, stats.

The admin API (api/admin*.py) calls these through the facade (``engine.admin.administration``).
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
- Connectors change on this shard only, and a restart brings back the file's
  (what stopping and changing one does to its queue: `engine.admin.connectors`).

Each job has its module: `engine.admin.accounts`, `engine.admin.connectors`,
`engine.admin.routing`, `engine.admin.publishing` (pub/sub between shards),
`engine.admin.stats`, and `engine.admin.views` for what they take and show.
`Administration` composes them into the one surface the API calls, and
records every change that succeeded in the audit log (`engine.admin.audit`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from engine.admin.accounts import AccountAdministration, RecordPayment
from engine.admin.audit import AuditLog
from engine.admin.connectors import ConnectorAdministration
from engine.admin.publishing import ShardChannels
from engine.admin.routing import RoutingAdministration
from engine.admin.stats import shard_stats
from engine.admin.views import (
    AccountChanges,
    AccountView,
    AdminRefused,
    ConnectorView,
    NewAccount,
    PriorityName,
    ShardStats,
    SmppPassword,
)
from engine.billing.invoices import UNPAID_PREFIXES
from engine.billing.rates import ExchangeRate
from engine.customers.accounts import AccountConfig
from engine.customers.api_keys import ApiKey, ApiKeyStore
from engine.gateway import Gateway
from engine.loop.batching import BackgroundTasks
from engine.operators.connector_config import ConnectorConfig
from ledger.model import AdjustResult
from ledger.redis_client import RedisClient
from router import Explanation, MessageFacts, RoutingConfig

__all__ = [
    "AccountChanges",
    "AccountView",
    "AdminRefused",
    "Administration",
    "ConnectorView",
    "NewAccount",
    "PriorityName",
    "ShardStats",
    "SmppPassword",
]


class Administration:
    """The admin operations on one running shard, delegated to its parts."""

    def __init__(
        self, gateway: Gateway, api_keys: ApiKeyStore, redis: RedisClient | None = None
    ) -> None:
        self.gateway = gateway
        self.api_keys = api_keys
        self.redis = redis
        self.channels = ShardChannels(gateway.config.shard, gateway.config.ledger.namespace, redis)
        self.routing_channel = self.channels.routing
        self.accounts_channel = self.channels.accounts
        self._accounts = AccountAdministration(gateway, api_keys, self.channels)
        self._connectors = ConnectorAdministration(gateway)
        self._routing = RoutingAdministration(gateway, self.channels)
        self._reloads = BackgroundTasks()
        self.record_payment: RecordPayment | None = None
        """Records a top-up's payment (`Billing.record_top_up`); None: the ledger entry only."""
        namespace = gateway.config.ledger.namespace
        self.audit = AuditLog(namespace, redis, gateway.config.limits.audit_length)
        """Every change below is recorded here once it succeeded (`engine.admin.audit`)."""

    # -- accounts ---------------------------------------------------------------

    async def accounts(self) -> list[AccountView]:
        return await self._accounts.accounts()

    async def account(self, account_id: str) -> AccountView:
        return await self._accounts.account(account_id)

    def groups(self) -> list[str]:
        return self._accounts.groups()

    async def create_account(self, new: NewAccount) -> AccountView:
        view = await self._accounts.create_account(new)
        await self.audit.record("account.create", new.id, **_without_secrets(new))
        return view

    async def update_account(self, account_id: str, changes: AccountChanges) -> AccountView:
        view = await self._accounts.update_account(account_id, changes)
        await self.audit.record("account.update", account_id, **_without_secrets(changes))
        return view

    async def set_password(self, account_id: str, password: str | None) -> str | None:
        generated = await self._accounts.set_password(account_id, password)
        await self.audit.record("account.password", account_id, generated=generated is not None)
        return generated

    async def api_keys_of(self, account_id: str) -> list[ApiKey]:
        return await self._accounts.api_keys_of(account_id)

    async def adjust(
        self, account_id: str, amount: int, *, reason: str, reference: str, method: str = "other"
    ) -> AdjustResult:
        """A top-up or debit by an admin; refused (``reserved_reference``) when
        its reference starts like the entries the gateway writes itself
        (rebates, transfers, reseller margins), which would then be taken as
        theirs or block them (`engine.billing.invoices.UNPAID_PREFIXES`)."""
        if isinstance(reference, str) and reference.startswith(UNPAID_PREFIXES):
            raise AdminRefused(
                "reserved_reference",
                f"reference: must not start with {', '.join(UNPAID_PREFIXES)}",
            )
        result = await self._accounts.adjust(
            account_id,
            amount,
            reason=reason,
            reference=reference,
            method=method,
            record_payment=self.record_payment,
        )
        await self.audit.record(
            "credit.adjust",
            account_id,
            amount=amount,
            reason=reason,
            reference=reference,
            outcome=str(result.outcome),
            balance=result.balance,
        )
        return result

    def known(self, account_id: str) -> AccountConfig:
        return self._accounts.known(account_id)

    # -- connectors ---------------------------------------------------------------

    def connectors(self) -> list[ConnectorView]:
        return self._connectors.connectors()

    def connector(self, connector_id: str) -> ConnectorView:
        return self._connectors.connector(connector_id)

    async def stop_connector(self, connector_id: str) -> ConnectorView:
        view = await self._connectors.stop_connector(connector_id)
        await self.audit.record("connector.stop", connector_id, shard=self.gateway.config.shard)
        return view

    async def start_connector(self, connector_id: str) -> ConnectorView:
        view = await self._connectors.start_connector(connector_id)
        await self.audit.record("connector.start", connector_id, shard=self.gateway.config.shard)
        return view

    async def put_connector(self, config: ConnectorConfig) -> tuple[ConnectorView, bool]:
        view, created = await self._connectors.put_connector(config)
        await self.audit.record(
            "connector.put", config.id, shard=self.gateway.config.shard, created=created
        )
        return view, created

    # -- routing --------------------------------------------------------------------

    @property
    def routing(self) -> RoutingConfig:
        """The document of the table in use."""
        return self._routing.routing

    def routing_document(self) -> dict[str, Any]:
        return self._routing.routing_document()

    async def put_routing(self, data: object) -> RoutingConfig:
        config = await self._routing.put_routing(data)
        await self.audit.record("routing.put", "routing", mt_routes=len(config.mt_routes))
        return config

    def explain(self, direction: Literal["mt", "mo"], facts: MessageFacts) -> Explanation:
        return self._routing.explain(direction, facts)

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

    # -- other shards, stats -------------------------------------------------------

    async def watch(self, redis: RedisClient) -> None:
        """Apply the routing documents and account changes other shards
        publish, until cancelled (see `ShardChannels.watch`)."""
        apply = {
            self.routing_channel: self._routing.apply_published,
            self.accounts_channel: self._accounts.apply_published,
            self.channels.rates: self._rates_published,
        }
        await self.channels.watch(redis, apply)

    def stats(self) -> ShardStats:
        return shard_stats(self.gateway)

    # -- exchange rates ----------------------------------------------------------------

    async def add_rates(self, records: Iterable[ExchangeRate]) -> int:
        """Stores new exchange-rate records (docs/billing.md); every shard reloads them."""
        added = await self.gateway.rates.add(records)
        if added:
            await self.channels.publish(self.channels.rates, {"added": added})
        return added

    def _rates_published(self, _data: Any) -> None:
        """Another shard added rates: read them all again (a reload loses none)."""
        self._reloads.spawn(self.gateway.rates.load())


def _without_secrets(request: NewAccount | AccountChanges) -> dict[str, Any]:
    """The fields given, with a password or webhook secret shown only as set."""
    given = msgspec.to_builtins(request).items()
    fields: dict[str, Any] = {name: value for name, value in given if value is not None}
    for secret in ("password", "webhook_secret"):
        if secret in fields:
            fields[secret] = "set" if fields[secret] else ""
    return fields
