"""A fraud guard on the memory store, screened directly with a test clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from engine.customers.accounts import AccountConfig
from engine.fraud.guard import FraudGuard
from engine.fraud.memory_store import MemoryFraudStore
from engine.fraud.settings import FraudConfig, FraudLimits, FraudSettings
from engine.messages.intake import Refused
from engine.messages.message import Priority
from router import MtRouted
from tests.clock import FakeClock

ACCOUNTS = {name: AccountConfig(id=name, password_hash="x") for name in ("bank", "shop")}
QUIET = FraudLimits(
    per_number_per_hour=0,
    per_prefix_per_hour=0,
    spike_factor=0.0,
    conversion_min_ratio=0.0,
)
"""Every automatic rule off: a test turns on the one it is about."""
START = 1_800_000_000.0
"""A Unix time on the hour."""


def routed(destination: str, country: str = "FR") -> MtRouted:
    return MtRouted(
        route_id="r",
        connectors=("op-0",),
        destination=destination,
        network="",
        sell_per_part=1,
        cost_per_part=None,
        currency="EUR",
        plan_id="",
        cost_currency="EUR",
        country=country,
    )


def guard(
    clock: FakeClock,
    store: MemoryFraudStore | None = None,
    configured: dict[str, FraudSettings] | None = None,
    shard: str = "t1",
    **config: object,
) -> FraudGuard:
    config.setdefault("limits", QUIET)
    return FraudGuard(
        store or MemoryFraudStore(),
        FraudConfig(**config),  # type: ignore[arg-type]
        shard=shard,
        accounts=ACCOUNTS,
        configured=configured,
        clock=clock,
    )


def send(
    screen: FraudGuard, clock: FakeClock, to: str, account: str = "bank", country: str = "FR"
) -> Refused | None:
    """Screens one message at the clock's time."""
    return screen.screen(ACCOUNTS[account], routed(to, country), Priority.OTP, clock.now)


def sends(screen: FraudGuard, clock: FakeClock, to: str, count: int, **kw: str) -> list[str]:
    """The refusal codes of ``count`` messages ("" for each that passed)."""
    return [getattr(send(screen, clock, to, **kw), "code", "") for _ in range(count)]


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a state reached in the background (a hang guard, not a timing assert)."""
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)
