"""Connectors of a running shard: their state, stop, start, create and change.

Connectors change on this shard only, and a restart brings back the file's.
A connector stopped here keeps its queue: nothing queued is failed or lost.
Routing stops choosing it at once, and like any connector without a live bind
the gateway moves its queued messages to the next usable connector of their
route after ``failover_after``; the others wait for `start_connector`.
Changing a connector restarts that connector only, on the same queue.
"""

from __future__ import annotations

import asyncio

from engine.admin.views import AdminRefused, ConnectorView
from engine.gateway import Gateway
from engine.operators.connector import Connector
from engine.operators.connector_config import ConnectorConfig
from engine.operators.scheduler import Scheduler


class ConnectorAdministration:
    """The connector operations on one running shard."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.stopped: set[str] = set()
        self._connectors_lock = asyncio.Lock()

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
            rate=state.rate,
            throttle_spells=state.throttle_spells,
            throttled=state.throttled,
            health=state.health,
        )
