"""The routing table of a running shard: its document, a checked swap, explain.

A new table is swapped whole into the pipeline, never mutated, and published
to the other shards.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import structlog

from engine.admin.publishing import ShardChannels
from engine.gateway import Gateway
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


class RoutingAdministration:
    """The routing operations on one running shard."""

    def __init__(self, gateway: Gateway, channels: ShardChannels) -> None:
        self.gateway = gateway
        self.channels = channels
        self.routing: RoutingConfig = gateway.config.routing or load_data({"currency": "EUR"})
        """The document of the table in use (the gateway's default when none was configured)."""

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
        await self.channels.publish(self.channels.routing, msgspec.to_builtins(config))
        self.install(config)
        return config

    def explain(self, direction: Literal["mt", "mo"], facts: MessageFacts) -> Explanation:
        """Why the table in use routes ``facts`` as it does (see `router.explain`)."""
        table = self.gateway.pipeline.table
        if direction == "mo":
            return explain_mo(table, facts)
        return explain_mt(table, facts, self.gateway.pipeline.usable)

    def install(self, config: RoutingConfig) -> None:
        self.gateway.pipeline.table = RoutingTable(
            config, ported=self.gateway.pipeline.table.ported
        )
        self.routing = config

    def apply_published(self, data: Any) -> None:
        """A routing document as another shard published it."""
        self.install(load_data(data))
        log.info("routing table replaced from another shard")


def _without_nulls(value: Any) -> Any:
    """The document without its absent (None) optional fields, as an operator writes it."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value
