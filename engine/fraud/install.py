"""`install_fraud_guard`: the guard put into a gateway, without the gateway
knowing it (the composition root and tests call it)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from engine.fraud.guard import FraudGuard
from engine.fraud.settings import FraudConfig, FraudSettings
from engine.fraud.store import FraudStore
from engine.gateway import Gateway


def install_fraud_guard(
    gateway: Gateway,
    store: FraudStore,
    config: FraudConfig,
    configured: Mapping[str, FraudSettings] | None = None,
    clock: Callable[[], float] = time.time,
) -> FraudGuard:
    """A guard for ``gateway``: its screen runs after the others so far, its
    metrics are in the gateway's registry. Then ``await guard.start()``, and
    ``await guard.stop()`` when the gateway stops."""
    guard = FraudGuard(
        store,
        config,
        shard=gateway.config.shard,
        accounts=gateway.accounts,
        configured=configured,
        clock=clock,
    )
    gateway.pipeline.screens.append(guard)
    gateway.registry.register(guard.metrics)
    return guard
