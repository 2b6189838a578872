"""The issue's scenario through a whole gateway: SMPP submits, the real
pipeline, the ledger; refused messages hold and cost nothing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from engine.fraud.guard import FraudGuard
from engine.fraud.install import install_fraud_guard
from engine.fraud.memory_store import MemoryFraudStore
from engine.fraud.redis_store import RedisFraudStore
from engine.fraud.settings import FraudConfig, FraudLimits, FraudSettings
from engine.gateway import Gateway
from ledger.redis_client import RedisClient
from smpp import pdu as p
from smpp.aio import CommandFailed, SmppConnection
from smpp.constants import CommandStatus as S
from tests.engine.gateway_harness import PRICE, Customer, account, running_gateway, simulator

CREDIT = 1_000 * PRICE
PREMIUM = "3389912"
"""A French premium-rate range (08 99): what pumping fraud goes for."""
FR = "33612345678"


def otp(to: str) -> p.SubmitSm:
    return p.SubmitSm(
        source_addr="BANK", source_addr_ton=5, destination_addr=to, priority_flag=3,
        short_message=b"Your code is 123456",
    )  # fmt: skip


async def submit(connection: SmppConnection, to: str) -> int:
    """The command_status the gateway answers."""
    try:
        await connection.call(otp(to))
    except CommandFailed as exc:
        return exc.status
    return S.ESME_ROK


async def spent(gateway: Gateway, account_id: str) -> int:
    """Credit taken by the account's messages (held or captured)."""
    state = await gateway.ledger.get_account(account_id)
    assert state is not None
    return CREDIT - state.available


@asynccontextmanager
async def guarded(
    limits: FraudLimits,
    redis: RedisClient | None = None,
    namespace: str = "smsgw",
    **config: object,
) -> AsyncIterator[tuple[Gateway, FraudGuard, dict[str, SmppConnection]]]:
    """A gateway (on Redis when given one) with the guard installed and
    started, and an SMPP bind of each account (``shop`` may send to Germany
    and to France's 06 mobiles only)."""
    accounts = (account("bank"), account("shop"))
    backend = "memory" if redis is None else "redis"
    async with running_gateway(
        backend,
        [simulator()],
        redis,
        namespace,
        credit=CREDIT,
        accounts=accounts,  # type: ignore[arg-type]
    ) as gateway:
        configured = {"shop": FraudSettings(countries=("DE",), prefixes=("3361",))}
        fraud = FraudConfig(limits=limits, **config)  # type: ignore[arg-type]
        store = MemoryFraudStore() if redis is None else RedisFraudStore(redis, namespace, "t1")
        guard = install_fraud_guard(gateway, store, fraud, configured)
        await guard.start()
        binds = {name: await Customer().bind(gateway, name) for name in ("bank", "shop")}
        try:
            yield gateway, guard, binds
        finally:
            for connection in binds.values():
                await connection.unbind()
            await guard.stop()


QUIET = FraudLimits(
    per_number_per_hour=0, per_prefix_per_hour=0, spike_factor=0.0, conversion_min_ratio=0.0
)


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_a_burst_of_otps_to_a_premium_range_is_blocked_while_other_traffic_flows(
    backend: str, redis_client: RedisClient, namespace: str
) -> None:
    limits = FraudLimits(
        per_number_per_hour=3, per_prefix_per_hour=0, spike_factor=5.0, spike_floor=10,
        conversion_min_ratio=0.0,
    )  # fmt: skip
    redis = redis_client if backend == "redis" else None
    async with guarded(limits, redis, namespace) as (gateway, guard, binds):
        burst = [await submit(binds["bank"], f"{PREMIUM}{n:04}") for n in range(25)]
        assert burst == [S.ESME_ROK] * 10 + [S.ESME_RSUBMITFAIL] * 15
        assert [await submit(binds["bank"], FR) for _ in range(4)] == [S.ESME_ROK] * 3 + [
            S.ESME_RSUBMITFAIL  # one number asked too often: the per-number limit
        ]
        assert await submit(binds["bank"], "33612345000") == S.ESME_ROK
        assert await submit(binds["shop"], "33612345678") == S.ESME_ROK
        assert [(b.prefix, b.rule) for b in guard.blocks()] == [
            (FR, "velocity"),
            (PREMIUM, "spike"),
        ]
        scraped = gateway.registry.get_sample_value
        assert scraped("smsgw_fraud_refused_total", {"account": "bank", "rule": "spike"}) == 15
        assert guard.metrics.refused == {("bank", "spike"): 15, ("bank", "velocity"): 1}
        assert await spent(gateway, "bank") == 14 * PRICE  # nothing for the 16 refused
        assert await spent(gateway, "shop") == PRICE


async def test_a_destination_outside_the_accounts_list_is_refused_and_not_charged() -> None:
    async with guarded(QUIET) as (gateway, guard, binds):
        assert await submit(binds["shop"], f"{PREMIUM}0001") == S.ESME_RINVDSTADR
        assert await submit(binds["shop"], FR) == S.ESME_ROK
        assert await submit(binds["bank"], f"{PREMIUM}0001") == S.ESME_ROK
        assert guard.metrics.refused == {("shop", "geo"): 1}
        assert await spent(gateway, "shop") == PRICE


async def test_codes_never_entered_block_their_prefix_until_an_admin_lifts_it() -> None:
    limits = FraudLimits(
        per_number_per_hour=0, per_prefix_per_hour=0, spike_factor=0.0,
        conversion_min_ratio=0.5, conversion_min_codes=5,
    )  # fmt: skip
    async with guarded(limits, conversion_grace=0.0) as (gateway, guard, binds):
        observer = guard.conversion  # what the Verify API tells
        for n in range(5):
            to = f"+{PREMIUM}{n:04}"
            assert await submit(binds["bank"], to.removeprefix("+")) == S.ESME_ROK
            observer.sent("bank", to, time.time())
        observer.approved("bank", f"+{PREMIUM}0000", time.time())
        assert await submit(binds["bank"], f"{PREMIUM}0009") == S.ESME_RSUBMITFAIL
        assert await submit(binds["bank"], FR) == S.ESME_ROK
        [block] = guard.blocks()
        assert block.rule == "conversion" and "1 of 5 OTP codes" in block.reason

        await guard.lift("bank", PREMIUM, allow_for=600)
        assert await submit(binds["bank"], f"{PREMIUM}0009") == S.ESME_ROK
        assert await spent(gateway, "bank") == 7 * PRICE
