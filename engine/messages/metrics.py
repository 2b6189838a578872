"""Prometheus figures of the message pipeline, observed without locks.

The hot path only adds to plain ints, dicts and lists; the registry reads
them when Prometheus scrapes (`PipelineMetrics.collect`), so exposition
costs nothing per message. prometheus-client's own metrics take a lock per
observation: two of them per message were 7% of the engine's CPU on bench.e2e.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from smpp.constants import status_name
from smpp.receipt import MessageState

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
SUBMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""submit_sm -> submit_sm_resp: milliseconds on a good link, seconds before a timeout."""


class PlainBuckets:
    """One histogram's counts, observed by one event loop thread without a lock."""

    __slots__ = ("_bounds", "_counts", "sum")

    def __init__(self, buckets: Sequence[float]) -> None:
        self._bounds = tuple(buckets)
        self._counts = [0] * (len(self._bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Counts ``value`` in the first bucket whose upper bound is at least it."""
        self._counts[bisect_left(self._bounds, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        """The buckets as the exposition has them: cumulative, up to ``+Inf``."""
        counts = list(accumulate(self._counts))
        buckets: list[tuple[str, float]] = [
            (_bound(b), n) for b, n in zip(self._bounds, counts, strict=False)
        ]
        buckets.append(("+Inf", counts[-1]))
        return buckets


class PlainHistogram(PlainBuckets):
    """A Prometheus histogram without labels, registered as its own collector."""

    __slots__ = ("documentation", "name")

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        super().__init__(buckets)
        self.name = name
        self.documentation = documentation

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], self.cumulative(), self.sum)
        yield family


def histogram_family(
    name: str, documentation: str, label: str, children: Mapping[str, PlainBuckets]
) -> HistogramMetricFamily:
    """One labelled histogram family from each label value's buckets."""
    family = HistogramMetricFamily(name, documentation, labels=[label])
    for value, buckets in children.items():
        family.add_metric([value], buckets.cumulative(), buckets.sum)
    return family


def counter_family(
    name: str, documentation: str, labels: Sequence[str], counts: Mapping[tuple[str, str], int]
) -> CounterMetricFamily:
    """A counter family from a dict keyed by its two label values."""
    family = CounterMetricFamily(name, documentation, labels=list(labels))
    for key, count in counts.items():
        family.add_metric(list(key), count)
    return family


def _bound(value: float) -> str:
    """A bucket bound as prometheus-client spells it (``le="1.0"``)."""
    return repr(float(value))


def _state(state: MessageState) -> str:
    return state.name.lower()


def _reason(reason: int | str) -> str:
    """Refused before the ledger: the SMPP status; by the ledger: its stable code."""
    return reason if isinstance(reason, str) else status_name(reason)


class PipelineMetrics:
    """What the pipeline observes per message; one registry per gateway (tests make many).

    Per account and per connector the counts are dicts keyed by label values:
    an increment is one dict lookup, and only labels that happened show up.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.accept_to_submit = PlainHistogram(
            "smsgw_accept_to_submit_seconds",
            "From the ledger's commit to the operator's submit_sm_resp OK.",
            LATENCY_BUCKETS,
        )
        self.submit_to_receipt = PlainHistogram(
            "smsgw_submit_to_receipt_seconds",
            "From the operator's submit_sm_resp OK to its delivery receipt.",
            LATENCY_BUCKETS,
        )
        self.ledger_batch = PlainHistogram(
            "smsgw_ledger_accept_batch_size",
            "Messages per accept_many call to the ledger.",
            (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
        )
        self.by_account: dict[tuple[str, str], int] = {}
        """(account, submitted | failed | expired) -> messages."""
        self.refusals: dict[tuple[str, int | str], int] = {}
        """(account, SMPP status or ledger refusal code) -> messages."""
        self.account_receipts: dict[tuple[str, MessageState], int] = {}
        self.connector_receipts: dict[tuple[str, MessageState], int] = {}
        registry.register(self)

    def submitted(self, account: str, waited: float) -> None:
        """The operator took a message ``waited`` seconds after its commit."""
        self.accept_to_submit.observe(waited)
        key = (account, "submitted")
        self.by_account[key] = self.by_account.get(key, 0) + 1

    def ended(self, account: str, event: str) -> None:
        """A message that will never reach an operator: ``failed`` or ``expired``."""
        key = (account, event)
        self.by_account[key] = self.by_account.get(key, 0) + 1

    def refused(self, account: str, reason: int | str) -> None:
        """Refused with nothing held: an SMPP status (intake) or a ledger refusal code."""
        key = (account, reason)
        self.refusals[key] = self.refusals.get(key, 0) + 1

    def receipt(self, connector: str, account: str, state: MessageState, waited: float) -> None:
        """A matched receipt, ``waited`` seconds after the submit."""
        self.submit_to_receipt.observe(waited)
        key = (account, state)
        self.account_receipts[key] = self.account_receipts.get(key, 0) + 1
        key = (connector, state)
        self.connector_receipts[key] = self.connector_receipts.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        yield from self.accept_to_submit.collect()
        yield from self.submit_to_receipt.collect()
        yield from self.ledger_batch.collect()
        yield counter_family(
            "smsgw_account_messages",
            "Messages per account: submitted to an operator, failed, expired.",
            ("account", "event"),
            self.by_account,
        )
        yield counter_family(
            "smsgw_account_refusals",
            "Messages refused per account, nothing held: by SMPP status before "
            "the ledger, by the ledger's code (no_credit, throttled, ...) at it.",
            ("account", "reason"),
            {(a, _reason(r)): n for (a, r), n in self.refusals.items()},
        )
        yield counter_family(
            "smsgw_account_receipts",
            "Operator receipts matched per account, by message state.",
            ("account", "state"),
            {(a, _state(s)): n for (a, s), n in self.account_receipts.items()},
        )
        yield counter_family(
            "smsgw_connector_receipts",
            "Operator receipts matched per connector, by message state.",
            ("connector", "state"),
            {(c, _state(s)): n for (c, s), n in self.connector_receipts.items()},
        )
