"""Low-balance alerts: an account whose available credit falls below its
``low_balance`` is told once per fall, by webhook (``event: low_balance`` to
its webhook URL), a log line and a gauge (docs/billing.md).

Every shard reads the same balances (`CreditGauge`), so the webhook of a fall
goes out from the shard that claims it first (``claim``: a Redis SET NX in
production); coming back above the threshold re-arms the alert.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric

from engine.customers.accounts import AccountConfig
from engine.loop.batching import BackgroundTasks
from engine.webhooks import WebhookDispatcher
from engine.webhooks.requests import WebhookDelivery
from ledger.model import AccountState
from ledger.redis_client import RedisClient

log = structlog.get_logger("smsgw.billing")

Claim = Callable[[str, bool], Awaitable[bool]]
"""``claim(account, low)``: low, whether this shard sends the alert of the
fall (once across shards); not low, re-arm it. Returns what it claimed."""


async def claim_here(account: str, low: bool) -> bool:
    """One shard (embedded, tests): every fall is its own."""
    return low


LOW_MARK_TTL = 7 * 86_400
"""Seconds a fall's mark lives: an account left low that long is told again."""


def redis_claim(redis: RedisClient, namespace: str) -> Claim:
    """Claims a fall with SET NX on a key of its own: the first shard sends."""

    async def claim(account: str, low: bool) -> bool:
        key = f"{namespace}:billing:low:{account}"
        if not low:
            await redis.delete(key)
            return False
        return bool(await redis.set(key, "1", nx=True, ex=LOW_MARK_TTL))

    return claim


class LowBalanceAlerts:
    def __init__(
        self,
        accounts: Mapping[str, AccountConfig],
        webhooks: WebhookDispatcher,
        claim: Claim = claim_here,
    ) -> None:
        self._accounts = accounts
        self._webhooks = webhooks
        self._claim = claim
        self._tasks = BackgroundTasks()
        self.low: set[str] = set()
        """Accounts below their threshold at the last reading."""

    def observe(self, states: Mapping[str, AccountState]) -> None:
        """One reading of every account's credit (`CreditGauge.refresh`)."""
        for account_id, state in states.items():
            account = self._accounts.get(account_id)
            threshold = account.low_balance if account is not None else 0
            low = threshold > 0 and state.available < threshold
            if low and account_id not in self.low:
                self.low.add(account_id)
                assert account is not None
                self._tasks.spawn(self._fell(account, state))
            elif not low and account_id in self.low:
                self.low.discard(account_id)
                self._tasks.spawn(self._claim(account_id, False))

    async def _fell(self, account: AccountConfig, state: AccountState) -> None:
        log.warning(
            "low balance",
            account=account.id,
            available=state.available,
            threshold=account.low_balance,
        )
        if not account.webhook_url or not await self._claim(account.id, True):
            return
        payload = {
            "event": "low_balance",
            "account": account.id,
            "available": state.available,
            "balance": state.balance,
            "threshold": account.low_balance,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        self._webhooks.submit(
            WebhookDelivery(
                account=account.id,
                message_id="",
                url=account.webhook_url,
                payload=payload,
                secret=account.webhook_secret,
                event="low_balance",
            )
        )

    async def drain(self) -> None:
        """Until the alerts of the readings so far are handed to the webhooks."""
        await self._tasks.drain()

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "smsgw_low_balance_accounts",
            "Accounts whose available credit is below their low_balance threshold.",
            labels=["account"],
        )
        for account in sorted(self.low):
            family.add_metric([account], 1)
        yield family
