"""The lock-free histogram exposes exactly what prometheus-client's own would,
and the shard's per-account and per-connector figures count what happened."""

import asyncio

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from engine.messages.metrics import LATENCY_BUCKETS, PipelineMetrics, PlainHistogram
from engine.messages.refusals import Refusal
from engine.operators.bind import BindState
from smpp.constants import CommandStatus as S
from tests.engine.gateway_harness import CREDIT, OTP, PRICE, Customer, running_gateway, simulator
from tests.engine.peers import until

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


def test_refusals_are_labelled_by_status_name_or_ledger_code() -> None:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    metrics.refused("bank", S.ESME_RINVDSTADR)
    metrics.refused("bank", 0x4F0)  # a vendor status: no name, still a bounded label
    metrics.refused("bank", Refusal.NO_CREDIT)
    metrics.refused("bank", Refusal.NO_CREDIT)

    def refusals(reason: str) -> float | None:
        labels = {"account": "bank", "reason": reason}
        return registry.get_sample_value("smsgw_account_refusals_total", labels)

    assert (refusals("ESME_RINVDSTADR"), refusals("0x000004f0")) == (1, 1)
    assert refusals("no_credit") == 2


async def test_a_message_counts_per_account_and_per_connector() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        await connection.call(OTP)
        await asyncio.wait_for(customer.delivered.get(), 10)
        await gateway.credit.refresh()
        value = gateway.registry.get_sample_value
        bank, op = {"account": "bank"}, {"connector": "op-0"}
        assert value("smsgw_account_messages_total", {**bank, "event": "submitted"}) == 1
        assert value("smsgw_account_receipts_total", {**bank, "state": "delivered"}) == 1
        assert value("smsgw_connector_receipts_total", {**op, "state": "delivered"}) == 1
        assert value("smsgw_connector_messages_total", {**op, "event": "submitted"}) == 1
        assert value("smsgw_connector_responses_total", {**op, "status": "ESME_ROK"}) == 1
        assert value("smsgw_connector_timeouts_total", op) == 0
        assert value("smsgw_connector_submit_seconds_count", op) == 1
        # Held or already captured, the message's price is no longer available.
        assert value("smsgw_account_credit_available", bank) == CREDIT - PRICE
        assert value("smsgw_account_credit_balance", {"account": "shop"}) == CREDIT
        assert value("process_cpu_seconds_total") is not None
        await connection.unbind()


async def test_bind_gauges_show_every_state_even_at_zero() -> None:
    operator = simulator()
    async with running_gateway("memory", [operator]) as gateway:
        await operator.stop()  # the bind drops and backs off: bound goes to 0, not away
        value = gateway.registry.get_sample_value
        bound = {"connector": "op-0", "state": "bound"}
        await until(lambda: value("smsgw_connector_binds", bound) == 0)
        states = {
            state.value: value("smsgw_connector_binds", {**bound, "state": state.value})
            for state in BindState
        }
        assert states["bound"] == 0 and sum(states.values()) == 1
        assert value("smsgw_customer_binds", {"account": "bank"}) == 0
