"""`FraudGuard`: the screen every routed message passes (docs/fraud.md), and
what the admin API asks of it.

Per message it decides in memory: the account's geo list, the blocks it
holds, then the automatic rules over the shared counters. A rule that trips
blocks the prefix (or number) here at once and in the store in the
background, where the other shards read it at the change told on pub/sub.
Only the shard that stores a block first logs it and counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

import structlog

from engine.admin.views import AdminRefused
from engine.customers.accounts import AccountConfig
from engine.fraud.blocks import BlockBook
from engine.fraud.conversion import ConversionTracker
from engine.fraud.metrics import FraudMetrics
from engine.fraud.rules import (
    MINUTE,
    AccountRules,
    AutomaticRules,
    Trip,
    hour_counters,
    minute_counters,
)
from engine.fraud.settings import CODES, FraudConfig, FraudSettings
from engine.fraud.store import Allowance, Block, FraudStore
from engine.loop.batching import BackgroundTasks
from engine.loop.cancelling import cancelled
from engine.loop.repeated import RepeatedWarning
from engine.messages.intake import Refused
from engine.messages.message import Priority
from router import MtRouted
from smpp.constants import CommandStatus as S

log = structlog.get_logger("smsgw.fraud")

GEO_STATUS = S.ESME_RINVDSTADR
"""What an SMPP customer gets for a destination outside its geo list."""
LIFT_ALLOWANCE = 3_600.0
"""Seconds a lift leaves the prefix to itself unless the admin says otherwise:
the hour the rules count over, so a rule does not trip again on the figures
that tripped it."""
_RULE_OF_CODE = {code: rule for rule, code in CODES.items()}


class FraudGuard:
    """One shard's fraud screen (a `Screen`), its shared state and its admin."""

    def __init__(
        self,
        store: FraudStore,
        config: FraudConfig,
        *,
        shard: str,
        accounts: Mapping[str, object],
        configured: Mapping[str, FraudSettings] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.shard = shard
        self._accounts = accounts
        """The shard's accounts (the gateway's, changed by reloads)."""
        self._clock = clock
        self._digits = config.prefix_digits
        self.minutes = minute_counters(config)
        self.hours = hour_counters(config)
        self.conversion = ConversionTracker(
            self.minutes, config.prefix_digits, config.conversion_window, config.conversion_grace
        )
        """The Verify API's `VerifyObserver`."""
        self._rules = AutomaticRules(config, self.minutes, self.hours, self.conversion)
        self.book = BlockBook()
        self.metrics = FraudMetrics(lambda: self.book.blocks(self._clock()))
        self._configured = dict(configured or {})
        self._admin_settings: dict[str, FraudSettings] = {}
        self._default = AccountRules.of(FraudSettings(), config.limits, "default")
        self._by_account: dict[str, AccountRules] = {}
        self._resolve()
        self._unsaved: dict[tuple[str, str], Block] = {}
        """Blocks made here and not in the store yet: a reload keeps them."""
        self._loading = asyncio.Lock()
        """Reloads and this shard's lifts run one at a time, so an older read
        never undoes a newer change."""
        self._stale = False
        self._reloading = False
        self._tasks = BackgroundTasks()
        self._running: list[asyncio.Task[None]] = []
        self._geo_refusals = RepeatedWarning(log, "fraud guard geo refusals", by="accounts")

    # -- the screen -------------------------------------------------------------

    def screen(
        self, account: AccountConfig, decision: MtRouted, priority: Priority, now: float
    ) -> Refused | None:
        """Why the message is refused, or None (then it is counted)."""
        account_id = account.id
        rules = self._by_account.get(account_id, self._default)
        destination = decision.destination
        prefix = destination[: self._digits]
        outside = rules.geo_refusal(destination, decision.country, prefix)
        if outside is not None:
            self.metrics.refused[(account_id, "geo")] += 1
            self._geo_refusals.add(account_id, country=decision.country, prefix=prefix)
            return Refused(GEO_STATUS, outside, CODES["geo"])
        refused = self.book.blocked(account_id, destination, now)
        if refused is None and not self.book.allowed(account_id, destination, now):
            trip = self._rules.check(account_id, destination, prefix, rules.limits, now)
            if trip is not None:
                refused = self._block(account_id, trip, now)
        if refused is not None:
            self.metrics.refused[(account_id, _RULE_OF_CODE[refused.code])] += 1
            return refused
        self._rules.count(account_id, destination, prefix, now)
        return None

    def _block(self, account: str, trip: Trip, now: float) -> Refused:
        if trip.rule == "velocity":
            # To the end of the minute: the window has then moved past every
            # message that tripped it (it counts whole minutes), so it does
            # not trip again at once.
            until = float((int((now + self.config.velocity_block_for) // MINUTE) + 1) * MINUTE)
        else:
            until = now + self.config.block_for if self.config.block_for else 0.0
        block = Block(
            account=account,
            prefix=trip.prefix,
            rule=trip.rule,
            reason=trip.reason,
            since=now,
            until=until,
            shard=self.shard,
        )
        self._unsaved[(account, trip.prefix)] = block
        self._tasks.spawn(self._save(block))
        return self.book.add(block)

    async def _save(self, block: Block) -> None:
        """Stores ``block``; the shard that stores it first logs and counts it."""
        try:
            kept = await self.store.add_block(block)
        except Exception as exc:
            log.error("fraud block kept on this shard only", error=str(exc), **_described(block))
            self.metrics.blocked[(block.account, block.rule)] += 1
            return
        self._unsaved.pop((block.account, block.prefix), None)
        if kept:
            log.warning("fraud block", **_described(block))
            self.metrics.blocked[(block.account, block.rule)] += 1
        else:
            await self.reload()  # another shard's block of that prefix is the one in force

    # -- shared state -------------------------------------------------------------

    async def start(self) -> None:
        """Reads the store (a failure is raised: the shard does not start
        blind), then exchanges counts and follows other shards' changes."""
        await self.reload()
        loop = asyncio.get_running_loop()
        self._running = [
            loop.create_task(self._exchanging()),
            loop.create_task(self.store.watch(self._changed)),
        ]

    async def stop(self) -> None:
        for task in self._running:
            await cancelled(task)
        self._running = []
        self._geo_refusals.close()
        with contextlib.suppress(Exception):
            await self.flush()  # this shard's last blocks and counts, for the others

    async def flush(self) -> None:
        """Stores the blocks made here so far and exchanges counts now."""
        await self._tasks.drain()
        await self.exchange()

    async def exchange(self) -> None:
        """Adds this shard's counts to the store and reads the cluster's back."""
        now = self._clock()
        await self.minutes.exchange(self.store, now)
        await self.hours.exchange(self.store, now)

    async def reload(self) -> None:
        """Blocks, allowances and accounts' settings, read again from the store."""
        async with self._loading:
            now = self._clock()
            records = await self.store.records(now)
            unsaved = [block for block in self._unsaved.values() if not block.over(now)]
            self.book.load(records, unsaved)
            self._admin_settings = records.settings
            self._resolve()

    async def _exchanging(self) -> None:
        """Exchanges counts every `sync_interval`, reloads every `reload_interval`."""
        every = max(1, round(self.config.reload_interval / self.config.sync_interval))
        turn = 0
        failing = False
        while True:
            await asyncio.sleep(self.config.sync_interval)
            turn += 1
            try:
                await self.exchange()
                if turn % every == 0:
                    await self.reload()
            except Exception as exc:
                if not failing:  # once per outage, not every interval
                    log.warning("fraud counts not shared: limits hold per shard", error=str(exc))
                failing = True
                continue
            if failing:
                log.info("fraud counts shared again")
                failing = False

    def _changed(self) -> None:
        """Another shard changed a record: reload, once more if it changes again meanwhile."""
        self._stale = True
        if not self._reloading:
            self._reloading = True
            self._tasks.spawn(self._reload_while_stale())

    async def _reload_while_stale(self) -> None:
        try:
            while self._stale:
                self._stale = False
                await self.reload()
        finally:
            self._reloading = False

    # -- settings ---------------------------------------------------------------------

    def configure(self, configured: Mapping[str, FraudSettings]) -> None:
        """The accounts' settings of the config file (``[accounts.fraud]``),
        at start and at each reload; the admin API's override them."""
        self._configured = dict(configured)
        self._resolve()

    def _resolve(self) -> None:
        limits = self.config.limits
        rules = {a: AccountRules.of(s, limits, "config") for a, s in self._configured.items()}
        rules |= {a: AccountRules.of(s, limits, "admin") for a, s in self._admin_settings.items()}
        self._by_account = rules

    def rules_of(self, account: str) -> AccountRules:
        """The account's settings and limits in force."""
        self._known(account)
        return self._by_account.get(account, self._default)

    async def put_settings(self, account: str, settings: FraudSettings) -> AccountRules:
        """Replaces the account's settings on every shard."""
        self._known(account)
        async with self._loading:
            await self.store.put_settings(account, settings)
            self._admin_settings = {**self._admin_settings, account: settings}
            self._resolve()
        return self._by_account[account]

    def _known(self, account: str) -> None:
        if account not in self._accounts:
            raise AdminRefused("unknown_account", f"no account {account!r}")

    # -- review -----------------------------------------------------------------------

    def blocks(self, account: str | None = None) -> list[Block]:
        """The blocks in force, by account then prefix."""
        held = self.book.blocks(self._clock())
        return [block for block in held if account in (None, block.account)]

    def allowances(self, account: str | None = None) -> list[Allowance]:
        now = self._clock()
        return [
            kept
            for kept in self.book.allowances
            if kept.until > now and account in (None, kept.account)
        ]

    async def lift(
        self, account: str, prefix: str, allow_for: float = LIFT_ALLOWANCE
    ) -> tuple[Block, Allowance | None]:
        """Lifts the block of ``account`` on ``prefix`` on every shard; with
        ``allow_for`` seconds, the automatic rules leave that prefix alone
        meanwhile (else a rule whose figures still exceed trips again)."""
        if not 0 <= allow_for <= self.config.allow_for_max:
            raise ValueError(
                f"allow_for: {allow_for} s, from 0 to {self.config.allow_for_max:.0f} s"
            )
        await self._tasks.drain()  # a block being stored now must not come back after
        await self.reload()  # a block made on another shard a moment ago
        async with self._loading:
            held = self.book.find(account, prefix)
            if held is None:
                raise AdminRefused("unknown_block", f"no block of {account!r} on {prefix!r}")
            now = self._clock()
            allowance = None
            if allow_for:
                allowance = Allowance(
                    account=account, prefix=prefix, until=now + allow_for, lifted=held
                )
            await self.store.lift(account, prefix, allowance)
            self._unsaved.pop((account, prefix), None)
            self.book.remove(account, prefix)
            if allowance is not None:
                self.book.allow(allowance)
        log.warning("fraud block lifted", allow_for=allow_for, **_described(held))
        return held, allowance


def _described(block: Block) -> dict[str, object]:
    return {
        "account": block.account,
        "prefix": block.prefix,
        "rule": block.rule,
        "reason": block.reason,
        "until": block.until,
        "shard": block.shard,
    }
