"""The fraud guard's Prometheus figures, kept in plain dicts (the screen runs
per message: no lock per observation, as `engine.messages.metrics`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from engine.fraud.store import Block
from engine.messages.metrics import counter_family


class FraudMetrics:
    def __init__(self, blocks: Callable[[], list[Block]]) -> None:
        self._blocks = blocks
        """The blocks in force, as this shard holds them."""
        self.refused: Counter[tuple[str, str]] = Counter()
        """(account, rule) -> messages refused on this shard."""
        self.blocked: Counter[tuple[str, str]] = Counter()
        """(account, rule) -> blocks this shard made."""

    def collect(self) -> Iterator[Metric]:
        yield counter_family(
            "smsgw_fraud_refused",
            "Messages the fraud guard refused on this shard, by account and rule"
            " (geo, velocity, spike, conversion).",
            ("account", "rule"),
            self.refused,
        )
        yield counter_family(
            "smsgw_fraud_blocks",
            "Automatic blocks of a prefix or number this shard made, by account and rule.",
            ("account", "rule"),
            self.blocked,
        )
        family = GaugeMetricFamily(
            "smsgw_fraud_blocked_prefixes",
            "Prefixes and numbers blocked now, by account and rule (every shard"
            " shows the cluster's: dashboards take max).",
            labels=["account", "rule"],
        )
        for (account, rule), count in Counter(
            (block.account, block.rule) for block in self._blocks()
        ).items():
            family.add_metric([account, rule], count)
        yield family
