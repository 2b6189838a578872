"""Accounts' live credit as Prometheus gauges, read from the ledger now and then.

Balances live in Redis (DESIGN: Two backends); a scrape may run on another
thread and cannot await the ledger, so a loop reads every account's state
each `REFRESH` seconds and the scrape shows the last reading. Every shard
shows the same figures: dashboards take ``max by (account)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric

from ledger.model import AccountState
from ledger.protocol import Ledger

log = structlog.get_logger("smsgw.credit")

REFRESH = 15.0
"""Seconds between readings: Prometheus's usual scrape interval."""
CONCURRENCY = 50
"""Accounts read at once, so thousands of them take a few round trips' time."""


class CreditGauge:
    """The last reading of each configured account's balance, holds and headroom."""

    def __init__(
        self,
        ledger: Ledger,
        accounts: Mapping[str, object],
        on_reading: Callable[[Mapping[str, AccountState]], None] | None = None,
    ) -> None:
        self._ledger = ledger
        self._accounts = accounts
        self._on_reading = on_reading
        """Told every reading (the low-balance alerts)."""
        self.states: dict[str, AccountState] = {}

    async def refresh(self) -> None:
        """Reads every account the gateway knows now (accounts change on reload)."""
        accounts = list(self._accounts)
        states: dict[str, AccountState] = {}
        for start in range(0, len(accounts), CONCURRENCY):
            chunk = accounts[start : start + CONCURRENCY]
            for state in await asyncio.gather(*(self._ledger.get_account(a) for a in chunk)):
                if state is not None:
                    states[state.account] = state
        self.states = states
        if self._on_reading is not None:
            self._on_reading(states)

    async def run(self, interval: float = REFRESH) -> None:
        """Refreshes until cancelled; a ledger outage keeps the last reading."""
        while True:
            try:
                await self.refresh()
            except Exception:
                log.warning("reading account credit failed", exc_info=True)
            await asyncio.sleep(interval)

    def collect(self) -> Iterator[Metric]:
        figures = (
            ("balance", "Account balance in minor units (micro-units of the currency)."),
            ("held", "Credit held for messages accepted and not yet settled."),
            ("available", "What new messages may still hold: balance - held + credit limit."),
        )
        for figure, documentation in figures:
            family = GaugeMetricFamily(
                f"smsgw_account_credit_{figure}", documentation, labels=["account"]
            )
            for account, state in self.states.items():
                family.add_metric([account], getattr(state, figure))
            yield family
