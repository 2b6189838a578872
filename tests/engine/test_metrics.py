"""The lock-free histogram exposes exactly what prometheus-client's own would."""

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from engine.messages.metrics import LATENCY_BUCKETS, PlainHistogram

_values = st.lists(
    st.one_of(
        st.sampled_from([0.0, *LATENCY_BUCKETS]),
        st.floats(min_value=0, max_value=1_000, allow_nan=False),
    ),
    max_size=50,
)


def _exposition(registry: CollectorRegistry) -> list[str]:
    """The text format without the `_created` sample, which only prometheus-client writes."""
    return [
        line for line in generate_latest(registry).decode().splitlines() if "_created" not in line
    ]


@given(_values)
def test_plain_histogram_exposes_what_prometheus_client_does(values: list[float]) -> None:
    reference_registry, plain_registry = CollectorRegistry(), CollectorRegistry()
    reference = Histogram(
        "latency_seconds", "doc", buckets=LATENCY_BUCKETS, registry=reference_registry
    )
    plain = PlainHistogram("latency_seconds", "doc", LATENCY_BUCKETS)
    plain_registry.register(plain)
    for value in values:
        reference.observe(value)
        plain.observe(value)
    assert _exposition(plain_registry) == _exposition(reference_registry)
