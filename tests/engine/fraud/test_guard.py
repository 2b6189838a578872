"""The fraud guard's rules on one shard (memory store, a test clock)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from engine.admin.views import AdminRefused
from engine.fraud.counters import Buckets
from engine.fraud.memory_store import MemoryFraudStore
from engine.fraud.settings import FraudLimits, FraudSettings
from smpp.constants import CommandStatus as S
from tests.clock import FakeClock
from tests.engine.fraud.screening import QUIET, START, guard, send, sends, until

PREMIUM = "88239100"
"""Numbers of a range fraudsters pump (international, non-geographic)."""
FR = "33612345678"
HOUR = 3_600.0


def limits(**set_: object) -> FraudLimits:
    import msgspec

    return msgspec.structs.replace(QUIET, **set_)


# -- geo ------------------------------------------------------------------------


async def test_a_destination_outside_the_accounts_countries_and_prefixes_is_refused() -> None:
    clock = FakeClock(START)
    settings = FraudSettings(countries=("FR", "DE"), prefixes=("44770",))
    screen = guard(clock, configured={"bank": settings})
    assert send(screen, clock, FR) is None
    assert send(screen, clock, "447700900123", country="GB") is None  # its prefix is allowed
    refused = send(screen, clock, "447911123456", country="GB")
    assert refused is not None
    assert (refused.status, refused.code) == (S.ESME_RINVDSTADR, "blocked_geo")
    assert refused.reason == (
        "geo: prefix 4479111 (country GB) is outside the account's destinations"
        " (countries FR, DE; prefixes 44770)"
    )
    unknown = send(screen, clock, "88239100123", country="")
    assert unknown is not None and "no known country" in unknown.reason
    assert send(screen, clock, "447911123456", account="shop", country="GB") is None
    assert screen.metrics.refused == {("bank", "geo"): 2}
    assert screen.blocks() == []  # the account's own list: no block to lift


# -- velocity -------------------------------------------------------------------


async def test_the_number_over_its_hourly_limit_is_blocked_and_others_flow() -> None:
    clock = FakeClock(START)
    screen = guard(clock, limits=limits(per_number_per_hour=3))
    assert sends(screen, clock, FR, 5) == ["", "", "", "blocked_velocity", "blocked_velocity"]
    assert send(screen, clock, "33612345679") is None  # same prefix, another number
    assert send(screen, clock, FR, account="shop") is None
    [block] = screen.blocks()
    assert (block.account, block.prefix, block.rule) == ("bank", FR, "velocity")
    assert block.reason == (
        f"velocity: 3 messages to {FR} within the last hour, at most 3 (per_number_per_hour)"
    )
    refused = send(screen, clock, FR)
    assert refused is not None and refused.status == S.ESME_RSUBMITFAIL
    assert refused.reason.startswith(block.reason + "; blocked since 2027-01-15T08:00:00Z until")
    assert block.until == START + HOUR + 60  # velocity_block_for, to the end of the minute
    clock.now = block.until  # the window (whole minutes) has moved past the three
    assert send(screen, clock, FR) is None
    assert screen.blocks() == []


async def test_a_prefix_over_its_hourly_limit_is_blocked() -> None:
    clock = FakeClock(START)
    screen = guard(clock, limits=limits(per_prefix_per_hour=4))
    codes = [getattr(send(screen, clock, f"{PREMIUM}{n:03}"), "code", "") for n in range(6)]
    assert codes == ["", "", "", "", "blocked_velocity", "blocked_velocity"]
    assert send(screen, clock, "88239200001") is None  # the next range
    [block] = screen.blocks()
    assert block.prefix == PREMIUM[:7] and "per_prefix_per_hour" in block.reason


# -- spike ------------------------------------------------------------------------


async def test_a_prefix_is_blocked_when_its_last_hour_outgrows_its_baseline() -> None:
    clock = FakeClock(START)
    screen = guard(clock, limits=limits(spike_factor=5.0, spike_floor=10))
    for _ in range(24):  # four an hour, a day long
        assert sends(screen, clock, FR, 4) == [""] * 4
        clock.advance(HOUR)
        await screen.exchange()
    clock.advance(1.5 * HOUR)  # the last hour holds none of them, the 24 before all
    codes = sends(screen, clock, FR, 22)
    assert codes == [""] * 20 + ["blocked_spike"] * 2  # 5 x the baseline of 4
    assert screen.blocks()[0].reason == (
        "spike: 20 messages to prefix 3361234 within the last hour, at least 20: the greater"
        " of spike_floor 10 and spike_factor 5 x a baseline of 4.00 per hour over the 24"
        " hours before"
    )


async def test_a_new_prefix_may_send_the_spike_floor_before_it_is_blocked() -> None:
    clock = FakeClock(START)
    screen = guard(clock, limits=limits(spike_factor=5.0, spike_floor=10), block_for=0.0)
    assert sends(screen, clock, PREMIUM + "001", 12) == [""] * 10 + ["blocked_spike"] * 2
    assert send(screen, clock, FR) is None
    clock.advance(30 * 86_400)
    refused = send(screen, clock, PREMIUM + "001")
    assert refused is not None and refused.reason.endswith("until an admin lifts it")


# -- conversion -------------------------------------------------------------------------


def codes_sent(screen_: object, clock: FakeClock, prefix: str, count: int, approved: int) -> None:
    tracker = screen_.conversion  # type: ignore[attr-defined]
    for n in range(count):
        to = f"+{prefix}{n:04}"
        assert send(screen_, clock, to.removeprefix("+")) is None  # type: ignore[arg-type]
        tracker.sent("bank", to, clock.now)
        if n < approved:
            tracker.approved("bank", to, clock.now + 30)


async def test_a_prefix_whose_codes_are_not_entered_is_blocked_and_a_lift_lets_it_through() -> None:
    clock = FakeClock(START)
    conversion = limits(conversion_min_ratio=0.5, conversion_min_codes=10)
    screen = guard(clock, limits=conversion)
    codes_sent(screen, clock, PREMIUM, 10, approved=1)
    codes_sent(screen, clock, "3361234", 10, approved=8)
    assert send(screen, clock, PREMIUM + "999") is None  # within the grace: not counted yet
    clock.advance(601)
    refused = send(screen, clock, PREMIUM + "999")
    assert refused is not None and refused.code == "blocked_conversion"
    assert refused.reason.startswith(
        "conversion: 1 of 10 OTP codes sent to prefix 8823910 approved (10%), below"
        " conversion_min_ratio 50% after at least 10 codes"
    )
    assert send(screen, clock, FR) is None  # a prefix whose codes are entered

    lifted, allowance = await screen.lift("bank", PREMIUM[:7], allow_for=1_800)
    assert lifted.rule == "conversion" and allowance is not None
    assert send(screen, clock, PREMIUM + "999") is None
    assert screen.blocks() == [] and screen.allowances() == [allowance]
    clock.advance(1_800)  # the allowance is over and the codes still are not entered
    assert sends(screen, clock, PREMIUM + "999", 1) == ["blocked_conversion"]


async def test_a_lift_without_time_lets_a_rule_trip_again_at_once() -> None:
    clock = FakeClock(START)
    screen = guard(clock, limits=limits(per_number_per_hour=1))
    assert sends(screen, clock, FR, 2) == ["", "blocked_velocity"]
    lifted, allowance = await screen.lift("bank", FR, allow_for=0)
    assert allowance is None and lifted.prefix == FR
    assert sends(screen, clock, FR, 1) == ["blocked_velocity"]


async def test_a_lift_names_a_block_and_a_time_within_bounds() -> None:
    clock = FakeClock(START)
    screen = guard(clock)
    with pytest.raises(AdminRefused) as unknown:
        await screen.lift("bank", "3361234", allow_for=0)
    assert unknown.value.code == "unknown_block"
    with pytest.raises(ValueError, match="allow_for: -1 s, from 0 to 2592000 s"):
        await screen.lift("bank", "3361234", allow_for=-1)


# -- explained, logged once, counted --------------------------------------------------


async def test_each_block_is_logged_once_and_counted() -> None:
    clock = FakeClock(START)
    screen = guard(clock, limits=limits(per_number_per_hour=2))
    registry = CollectorRegistry()
    registry.register(screen.metrics)
    with capture_logs() as logs:
        assert sends(screen, clock, FR, 50).count("blocked_velocity") == 48
        await screen.flush()
    assert [entry["event"] for entry in logs] == ["fraud block"]
    assert logs[0]["prefix"] == FR and logs[0]["rule"] == "velocity"
    sample = registry.get_sample_value
    assert sample("smsgw_fraud_refused_total", {"account": "bank", "rule": "velocity"}) == 48
    assert sample("smsgw_fraud_blocks_total", {"account": "bank", "rule": "velocity"}) == 1
    blocked = {"account": "bank", "rule": "velocity"}
    assert sample("smsgw_fraud_blocked_prefixes", blocked) == 1


async def test_a_block_stored_first_by_another_shard_is_the_one_in_force() -> None:
    clock = FakeClock(START)
    store = MemoryFraudStore()
    first = guard(clock, store, shard="t1", limits=limits(per_number_per_hour=1))
    second = guard(clock, store, shard="t2", limits=limits(per_number_per_hour=1))
    assert sends(first, clock, FR, 2) == ["", "blocked_velocity"]
    await first.flush()
    assert sends(second, clock, FR, 2) == ["", "blocked_velocity"]  # within the interval
    with capture_logs() as logs:
        await second.flush()
    assert logs == []  # the first logged it
    assert [block.shard for block in second.blocks()] == ["t1"]


# -- settings ------------------------------------------------------------------------


async def test_the_admins_settings_override_the_config_files_on_every_shard() -> None:
    clock = FakeClock(START)
    store = MemoryFraudStore()
    configured = {"bank": FraudSettings(countries=("FR",), per_number_per_hour=9)}
    first = guard(clock, store, configured=configured)
    second = guard(clock, store, configured=configured, shard="t2")
    await second.start()
    try:
        await until(lambda: store.watching == 1)
        assert first.rules_of("bank").source == "config"
        assert first.rules_of("bank").limits.per_number_per_hour == 9
        assert first.rules_of("shop").source == "default"
        rules = await first.put_settings("bank", FraudSettings(countries=("GB",)))
        assert rules.source == "admin" and rules.limits == QUIET
        await second.flush()  # told: its reload is done
        assert second.rules_of("bank").settings.countries == ("GB",)
        assert send(second, clock, FR) is not None
        with pytest.raises(AdminRefused) as unknown:
            await first.put_settings("nobody", FraudSettings())
        assert unknown.value.code == "unknown_account"
        first.configure({"shop": FraudSettings(spike_floor=7)})  # the config file reloaded
        assert first.rules_of("shop").limits.spike_floor == 7
        assert first.rules_of("bank").source == "admin"
    finally:
        await second.stop()


async def test_a_store_outage_is_logged_once_and_loses_no_count() -> None:
    class Flaky(MemoryFraudStore):
        down = True
        calls = 0

        async def add_counts(
            self, deltas: Mapping[str, Mapping[int, int]], oldest: int, ttl: int
        ) -> dict[str, Buckets]:
            self.calls += 1
            if self.down:
                raise ConnectionError("redis down")
            return await super().add_counts(deltas, oldest, ttl)

    clock = FakeClock(START)
    store = Flaky()
    screen = guard(clock, store, sync_interval=0.05)
    with capture_logs() as logs:
        await screen.start()
        assert send(screen, clock, FR) is None
        await until(lambda: store.calls >= 3)
        store.down = False
        await until(lambda: store.calls >= 5)  # minutes and hours again, then nothing new
        await screen.stop()
    told = [entry["event"] for entry in logs if "shared" in entry["event"]]
    assert told == ["fraud counts not shared: limits hold per shard", "fraud counts shared again"]
    counted = await store.add_counts({f"number:bank:{FR}": {}}, 0, 60)
    assert sum(counted[f"number:bank:{FR}"].values()) == 1
