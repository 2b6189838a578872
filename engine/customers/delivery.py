"""deliver_sm to customers: our receipts (with OUR message id) and MO.

`commit` stores each delivery (Redis in production, one round trip per
batch) and only then sends or holds it: the pipeline answers the operator
once a kill -9 can no longer lose it. A delivery goes out on a receiving bind
of its account with a free window slot; otherwise it is held
(`engine.customers.held`), and each answer of the customer sends at most as
many held ones as slots are free: O(1) per answer, however long the backlog.

The stored entry goes when the customer answers it for good (ESME_ROK or a
permanent error), when its deadline passes, or when it is parked for another
shard; a temporary error, a timeout or a lost bind keeps it for a later
resend (at least once, never at most once). A temporary error also pauses the
account's sends, longer after each one in a row.

With Redis, a delivery for an account with no receiving bind on this shard is
parked (`engine.shard.parking`) for any shard that has one, and when the last
receiving bind of an account goes, what this shard stored for it is parked
too; a starting shard parks what its previous incarnation left, and a peer
parks a dead shard's. Embedded mode has one shard, a memory store and no parking.

Rounds also carry the message events the history records (`record`), in the
same call per bucket as the deliveries: a receipt's event and our receipt for
its customer are written together, and the operator's answer waits for one
round trip, not for two writers each busy with an earlier batch.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from functools import partial

import structlog

from engine.customers.accounts import AccountConfig, BindRegistry
from engine.customers.held import HeldDeliveries
from engine.customers.pending import Batch, Delivery, Entry, Outcome, PendingStore
from engine.loop.repeated import INTERVAL, RepeatedWarning
from ledger.events import MessageEvent
from ledger.retry import Backoff, Jitter
from smpp import pdu as p
from smpp.constants import TEMPORARY_STATUSES
from smpp.constants import CommandStatus as S

log = structlog.get_logger("smsgw.delivery")

DEFAULT_WINDOW = 10
CLAIM_BATCH = 500
"""Parked deliveries taken per account per claim: a backlog drains over
several polls rather than flooding one bind's window at once."""
_PAUSE = Backoff(1.0, 30.0, Jitter.NONE)
"""Pause of an account's sends after temporary errors in a row."""
_STORE_RETRY = Backoff(0.5, 10.0)
"""Wait before a round whose store failed is tried again."""
_OK = S.ESME_ROK
"""Read once: an enum's attribute costs 0.1 us to read, on every answer."""


class _Round:
    __slots__ = ("batch", "done")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.batch = Batch()
        self.done = done


class CustomerDelivery:
    def __init__(
        self,
        binds: BindRegistry,
        held: HeldDeliveries,
        accounts: dict[str, AccountConfig],
        store: PendingStore,
        *,
        notice_interval: float = INTERVAL,
    ) -> None:
        self.binds = binds
        self.held = held
        self.accounts = accounts
        self.store = store
        self.outcomes: Counter[tuple[str, str]] = Counter()
        """(account, outcome) -> deliveries: delivered, refused, expired,
        overflowed (kept in the store only), dropped (by the parking cap)."""
        self._next: _Round | None = None
        self._last_events: _Round | None = None
        """The round holding the latest message event recorded."""
        self._runner: asyncio.Task[None] | None = None
        self._loading: set[str] = set()
        self._paused: dict[str, asyncio.TimerHandle] = {}
        self._failures: Counter[str] = Counter()
        self._draining = False
        self._overflow = RepeatedWarning(
            log, "receipts past the held limit wait in the store", by="accounts",
            interval=notice_interval,
        )  # fmt: skip
        self._dropped = RepeatedWarning(
            log, "parked receipts dropped by the parking cap", by="accounts",
            interval=notice_interval,
        )  # fmt: skip

    async def commit(self, items: Sequence[Delivery]) -> None:
        """Store each (account, deliver_sm, deadline) durably, then send or
        hold it; returns once all are stored. Calls of one loop iteration
        share one round trip. Raises when the store failed: nothing of
        ``items`` is promised then, and the operator should be asked to resend."""
        if not items:
            return
        next_round = self._round()
        next_round.batch.stored.extend(items)
        await asyncio.shield(next_round.done)

    def record(self, event: MessageEvent) -> None:
        """A message event, written by the next round."""
        self._last_events = self._round()
        self._last_events.batch.events.append(event)

    async def events_written(self) -> None:
        """Return once every event recorded so far is written; raises when
        the round that held the latest failed (it is written again later)."""
        last = self._last_events
        if last is not None and not last.done.done():
            await asyncio.shield(last.done)

    def account_bound(self, account: str) -> None:
        """A receiving bind appeared: what this shard holds, then what is parked."""
        self._pump(account)
        room = min(CLAIM_BATCH, self.held.room(account))
        if self.store.parks and room:
            self._round().batch.claims[account] = room

    async def claim_parked(self, accounts: list[str] | None = None) -> None:
        """Take what other shards parked for ``accounts`` (default: every
        account with a receiving bind here) that have room in memory."""
        if not self.store.parks:
            return
        wanted = self.binds.receiving_accounts() if accounts is None else accounts
        waiting = await self.store.waiting([a for a in wanted if self.held.room(a)])
        if not waiting:
            return
        next_round = self._round()
        for account in waiting:
            if room := min(CLAIM_BATCH, self.held.room(account)):
                next_round.batch.claims[account] = room
        await asyncio.shield(next_round.done)

    async def recover(self, shard: str | None = None) -> int:
        """Park what ``shard`` (None: this shard's previous incarnation) left
        stored, for whichever shard holds a receiving bind of its accounts."""
        moved = await self.store.hand_over_shard(shard)
        if moved:
            log.info("stored deliveries parked", shard=shard or "own", deliveries=moved)
        return moved

    async def drain(self) -> None:
        """Wait for the rounds already asked for (the shard is stopping): a
        round that fails now is not tried again, as what it would have removed
        stays stored and is parked when the shard starts again."""
        self._draining = True
        while self._runner is not None:
            await asyncio.shield(self._runner)
        self._overflow.close()
        self._dropped.close()

    # -- rounds ------------------------------------------------------------

    def _round(self) -> _Round:
        """The round now gathering; it runs when the one in flight is done."""
        if self._next is None:
            loop = asyncio.get_running_loop()
            self._next = _Round(loop.create_future())
            if self._runner is None:
                self._runner = loop.create_task(self._run())
        return self._next

    async def _run(self) -> None:
        failures = 0
        while (current := self._next) is not None:
            self._next = None
            try:
                self._split(current.batch)
                outcome = await self.store.run(current.batch)
            except asyncio.CancelledError:
                current.done.cancel()
                raise
            except Exception as error:
                failures += 1
                log.warning("delivery store failed", exc_info=True)
                self._failed(current, error)
                if self._draining and not current.batch.events:
                    continue
                await asyncio.sleep(_STORE_RETRY.compute(failures))
                continue
            failures = 0
            self._apply(current.batch, outcome)
            current.done.set_result(None)
        self._runner = None

    def _split(self, batch: Batch) -> None:
        """Drop what expired; park what no bind of this shard can take."""
        now = time.time()
        receiving: dict[str, bool] = {}
        stored = []
        for item in batch.stored:
            account, deadline = item.account, item.deadline
            if deadline <= now:
                self.outcomes[account, "expired"] += 1
                continue
            if account not in receiving:
                receiving[account] = not self.store.parks or self.binds.has_receiver(account)
            (stored if receiving[account] else batch.parked).append(item)
        batch.stored = stored

    def _failed(self, current: _Round, error: Exception) -> None:
        """Committers hear of it; what is safe to repeat goes in the next
        round, the events even when draining (ahead of later ones: a message's
        newest state is the latest in its stream)."""
        current.done.set_exception(error)
        current.done.exception()  # read: nobody may be waiting
        batch = current.batch
        if batch.events:
            self._last_events = self._round()
            self._last_events.batch.events[:0] = batch.events
        if self._draining:
            return
        again = self._round().batch
        again.removed.extend(batch.removed)
        again.handovers |= batch.handovers
        again.loads.update(batch.loads)

    def _apply(self, batch: Batch, outcome: Outcome) -> None:
        """Results in the order the store met them, so memory mirrors it."""
        touched: set[str] = set()
        for item, entry_id in zip(batch.stored, outcome.ids, strict=True):
            account = item.account
            self._admit(account, Entry(entry_id, item.deadline, item.deliver, item.bind))
            touched.add(account)
        for account, entries in outcome.loaded.items():
            self._loading.discard(account)
            after, count = batch.loads[account]
            self.held.loaded(account, after, entries, complete=len(entries) < count)
            touched.add(account)
        for account in batch.handovers:
            self.held.forget(account)
            self._loading.discard(account)
            if outcome.left.get(account):
                self._round().batch.handovers.add(account)
        for account, entries in outcome.claimed.items():
            for entry in entries:
                self._admit(account, entry)
            touched.add(account)
        for account, count in outcome.dropped.items():
            if count:
                self.outcomes[account, "dropped"] += count
                self._dropped.add(account, count)
        for account in touched - batch.handovers:
            self._pump(account)

    def _admit(self, account: str, entry: Entry) -> None:
        if not self.held.admit(account, entry):
            self.outcomes[account, "overflowed"] += 1
            self._overflow.add(account)

    # -- sending -----------------------------------------------------------

    def _pump(self, account: str) -> None:
        """Fill the free window slots of the account's binds, oldest first;
        park what waits here if no receiving bind is left."""
        held = self.held
        if not held.waiting(account):
            return  # the common answer: nothing waits for the slot it frees
        if self.store.parks and not self.binds.has_receiver(account):
            self._round().batch.handovers.add(account)
            return
        if account in self._paused:
            return
        config = self.accounts.get(account)
        window = config.window if config is not None else DEFAULT_WINDOW
        now = time.time()
        while (entry := held.peek(account)) is not None:
            if entry.deadline <= now:
                held.pop(account)
                self._finish(account, entry, "expired")
                continue
            # The bind that submitted the message, if it can take it now.
            connection = self.binds.receiver(account, window, entry.bind)
            if connection is None:
                break
            held.pop(account)
            future = connection.request(entry.deliver)
            future.add_done_callback(partial(self._answered, account, entry))
        wanted = held.to_load(account)
        if wanted is not None and account not in self._loading:
            self._loading.add(account)
            self._round().batch.loads[account] = wanted

    def _answered(self, account: str, entry: Entry, future: asyncio.Future[p.Pdu]) -> None:
        status = _status(future)
        if status is None or status in TEMPORARY_STATUSES:
            self.held.retry(account, entry)
            if status is not None:
                self._pause(account)
        else:
            self._failures.pop(account, None)
            self._finish(account, entry, "delivered" if status == _OK else "refused")
        self._pump(account)

    def _finish(self, account: str, entry: Entry, outcome: str) -> None:
        self.outcomes[account, outcome] += 1
        self._round().batch.removed.append((account, entry.id))

    def _pause(self, account: str) -> None:
        if account in self._paused:
            return
        self._failures[account] += 1
        delay = _PAUSE.compute(self._failures[account])
        loop = asyncio.get_running_loop()
        self._paused[account] = loop.call_later(delay, self._resume, account)

    def _resume(self, account: str) -> None:
        del self._paused[account]
        self._pump(account)


def _status(future: asyncio.Future[p.Pdu]) -> int | None:
    """The customer's command_status; None when no answer came (a timeout, a lost bind)."""
    if future.cancelled() or future.exception() is not None:
        return None
    return future.result().command_status
