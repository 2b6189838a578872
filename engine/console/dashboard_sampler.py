"""The staff dashboard's figures over time (docs/console-dashboard.md).

Every few seconds one `Sample` of the shard: per connector the parts it
submitted and the receipts it matched per second since the last sample, its
queue and window; per connector (the operator behind it) the share of its
receipts that said delivered; the accounts below their ``low_balance``. The
last ``keep`` samples stay in a ring for the charts; nothing is stored.

The counters it reads are the plain ints the hot path already keeps
(`Connector.state`, `PipelineMetrics.connector_receipts`, `CreditGauge`), so
sampling costs the pipeline nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Mapping

import msgspec
import structlog

from engine.gateway import Gateway
from engine.operators.bind import BindState
from smpp.receipt import MessageState

log = structlog.get_logger("smsgw.console")

INTERVAL = 2.0
"""Seconds between samples: the event stream's pace too."""
KEEP = 450
"""Samples in the ring: 15 minutes at `INTERVAL`."""


class ConnectorFigures(msgspec.Struct, frozen=True, kw_only=True):
    connector: str
    bound: int
    """Binds bound now."""
    submitted_per_s: float
    receipts_per_s: float
    queue: int
    in_flight: int
    waiting_retry: int


class OperatorReceipts(msgspec.Struct, frozen=True, kw_only=True):
    """Receipts matched for one connector since the shard started."""

    connector: str
    receipts: int
    delivered: int
    delivered_ratio: float | None
    """delivered / receipts; None before the first receipt."""


class CreditAlert(msgspec.Struct, frozen=True, kw_only=True):
    """An account whose available credit is below its ``low_balance``."""

    account: str
    available: int
    threshold: int


class Sample(msgspec.Struct, frozen=True, kw_only=True):
    at: float
    """Unix seconds."""
    connectors: list[ConnectorFigures]
    operators: list[OperatorReceipts]
    credit_alerts: list[CreditAlert]
    held_deliveries: int
    webhooks_held: int


class _Totals(msgspec.Struct, frozen=True):
    """The cumulative counts a rate is the difference of."""

    at: float
    submitted: dict[str, int]
    receipts: dict[str, int]


class DashboardSampler:
    """Samples one gateway into a ring; `start` runs it, `stop` ends it."""

    def __init__(self, gateway: Gateway, interval: float = INTERVAL, keep: int = KEEP) -> None:
        self.gateway = gateway
        self.interval = interval
        self.samples: deque[Sample] = deque(maxlen=keep)
        self._last: _Totals | None = None
        self._task: asyncio.Task[None] | None = None

    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def sample(self, now: float | None = None) -> Sample:
        """Reads the shard now and appends the sample to the ring."""
        now = time.time() if now is None else now
        gateway = self.gateway
        states = {name: c.state() for name, c in sorted(gateway.connectors.items())}
        receipts = _receipts_by_connector(gateway.pipeline.metrics.connector_receipts)
        totals = _Totals(
            now,
            {name: state.submitted for name, state in states.items()},
            {name: sum(receipts.get(name, {}).values()) for name in states},
        )
        last = self._last
        connectors = [
            ConnectorFigures(
                connector=name,
                bound=sum(bind is BindState.BOUND for bind in state.binds),
                submitted_per_s=_rate(totals, last, "submitted", name),
                receipts_per_s=_rate(totals, last, "receipts", name),
                queue=state.queue_depth,
                in_flight=state.in_flight,
                waiting_retry=state.waiting_retry,
            )
            for name, state in states.items()
        ]
        self._last = totals
        found = Sample(
            at=now,
            connectors=connectors,
            operators=[_operator(name, counts) for name, counts in sorted(receipts.items())],
            credit_alerts=self._credit_alerts(),
            held_deliveries=len(gateway.held),
            webhooks_held=gateway.webhooks.held,
        )
        self.samples.append(found)
        return found

    def _credit_alerts(self) -> list[CreditAlert]:
        """The accounts `LowBalanceAlerts` found below their threshold at the
        last credit reading: one rule for the alert and the dashboard."""
        gateway = self.gateway
        alerts = []
        for account_id in sorted(gateway.low_balance.low):
            account = gateway.accounts.get(account_id)
            state = gateway.credit.states.get(account_id)
            if account is not None and state is not None:
                alerts.append(
                    CreditAlert(
                        account=account_id, available=state.available, threshold=account.low_balance
                    )
                )
        return alerts

    async def run(self) -> None:
        """Samples every ``interval`` until cancelled; a failed sample is logged and skipped."""
        while True:
            try:
                self.sample()
            except Exception:
                log.warning("dashboard sample failed", exc_info=True)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _receipts_by_connector(
    counts: Mapping[tuple[str, MessageState], int],
) -> dict[str, dict[MessageState, int]]:
    found: dict[str, dict[MessageState, int]] = {}
    for (connector, state), count in list(counts.items()):
        found.setdefault(connector, {})[state] = count
    return found


def _operator(connector: str, counts: Mapping[MessageState, int]) -> OperatorReceipts:
    receipts = sum(counts.values())
    delivered = counts.get(MessageState.DELIVERED, 0)
    return OperatorReceipts(
        connector=connector,
        receipts=receipts,
        delivered=delivered,
        delivered_ratio=round(delivered / receipts, 4) if receipts else None,
    )


def _rate(now: _Totals, last: _Totals | None, field: str, name: str) -> float:
    """Per second since the last sample; 0 at the first one and when a
    counter restarted (a changed connector counts from 0 again)."""
    if last is None or now.at <= last.at:
        return 0.0
    before = getattr(last, field).get(name)
    if before is None:
        return 0.0
    return round(max(0, getattr(now, field)[name] - before) / (now.at - last.at), 2)
