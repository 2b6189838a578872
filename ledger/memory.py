"""The in-memory twin of the Redis ledger, for `smsgw dev` and fast tests. Nothing is durable.

It follows the Lua scripts step by step (same check order, same result codes,
same idempotency windows, records keyed by bucket as in Redis), and the
contract tests run both backends side by side to keep it that way. Time comes
from `clock` (seconds since the epoch), so tests can drive windows and TTLs;
in Redis an injected clock moves the windows only, TTLs follow the server.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from ledger.config import LedgerConfig
from ledger.events import AccountEvent, Event, EventKind, LedgerEvent, MessageEvent, Position
from ledger.layout import LedgerKeys, SettledMark
from ledger.model import (
    MAX_AMOUNT,
    AcceptOutcome,
    AcceptRequest,
    AcceptResult,
    AccountLimits,
    AccountState,
    AdjustOutcome,
    AdjustResult,
    Capture,
    OutboxEntry,
    OutboxRef,
    QuotaPeriod,
    Release,
    SettleOutcome,
    SettleResult,
    VoidOutcome,
    check_account,
    check_amount,
    check_reason,
    check_shard,
    check_token,
)
from ledger.settling import SettlesLists, checked_captures, checked_releases


@dataclass
class _Account:
    limits: AccountLimits
    balance: int = 0
    held: int = 0
    window_second: int = 0
    window_used: int = 0
    quota_window: int = 0
    quota_used: int = 0
    references: set[str] = field(default_factory=set)


@dataclass
class _Hold:
    """A hold in flight; once settled, only its `SettledMark` is kept."""

    account: str
    amount: int
    outbox_id: str = ""


def _quota_window(period: QuotaPeriod, second: int) -> int:
    if period is QuotaPeriod.DAY:
        return second // 86_400
    day = datetime.fromtimestamp(second, UTC)
    return day.year * 12 + day.month - 1


class MemoryLedger(SettlesLists):
    """The in-memory backend of `ledger.protocol.Ledger`; `events` keeps the latest events."""

    def __init__(
        self,
        config: LedgerConfig | None = None,
        *,
        shard: str = "shard-0",
        clock: Callable[[], float] = time.time,
        max_events: int = 100_000,
        tap: Callable[[Sequence[Event]], None] | None = None,
    ) -> None:
        """``tap`` sees every event as it is made (embedded mode's message store
        reads them there, as the persister reads the Redis streams)."""
        check_shard(shard)
        self.config = config or LedgerConfig()
        self.shard = shard
        self.keys = LedgerKeys(self.config.namespace, self.config.buckets)
        self.events: deque[Event] = deque(maxlen=max_events)
        self._tap = tap
        self._clock = clock
        self._accounts: dict[str, _Account] = {}
        self._holds: dict[tuple[int, str], _Hold] = {}
        self._settled: dict[tuple[int, str], dict[str, str]] = {}
        """Settled slices by (bucket, slice key), as in Redis (`ledger.layout.SETTLED_SLICES`)."""
        self._idempotency: dict[tuple[str, str], str] = {}
        # (expires at ms, key) in expiry order: every entry of a deque has the same TTL.
        self._idempotency_expiry: deque[tuple[int, tuple[str, str]]] = deque()
        self._settled_expiry: deque[tuple[int, tuple[int, str]]] = deque()
        self._outboxes: dict[str, dict[int, dict[str, OutboxEntry]]] = {}
        self._last_id = (0, -1)

    def _now_ms(self) -> int:
        now_ms = int(self._clock() * 1000)
        while self._idempotency_expiry and self._idempotency_expiry[0][0] <= now_ms:
            self._idempotency.pop(self._idempotency_expiry.popleft()[1], None)
        while self._settled_expiry and self._settled_expiry[0][0] <= now_ms:
            self._settled.pop(self._settled_expiry.popleft()[1], None)
        return now_ms

    def _settled_mark(self, bucket: int, message_id: str, now_ms: int) -> str | None:
        """How ``message_id`` settled, if a lookup now finds it (`common.lua`)."""
        keys, _ = self.keys.settled(bucket, now_ms / 1000, self.config.settled_hold_ttl)
        for key in keys:
            mark = self._settled.get((bucket, key), {}).get(message_id)
            if mark is not None:
                return mark
        return None

    def _remember_settled(self, bucket: int, message_id: str, mark: str, now_ms: int) -> None:
        keys, ttl = self.keys.settled(bucket, now_ms / 1000, self.config.settled_hold_ttl)
        slice_key = (bucket, keys[0])
        marks = self._settled.get(slice_key)
        if marks is None:
            marks = self._settled[slice_key] = {}
            expires = (now_ms // 1000 + ttl) * 1000
            self._settled_expiry.append((expires, slice_key))
        marks[message_id] = mark

    def _next_id(self) -> str:
        """A stream-style id (`ms-seq`), increasing like Redis's."""
        ms = max(int(time.time() * 1000), self._last_id[0])
        seq = self._last_id[1] + 1 if ms == self._last_id[0] else 0
        self._last_id = (ms, seq)
        return f"{ms}-{seq}"

    def _emit(
        self, kind: EventKind, account: str, amount: int, now_ms: int, **extra: object
    ) -> None:
        a = self._accounts[account]
        position = Position.parse(self.keys.bucket_of(account), self._next_id())
        event = LedgerEvent(
            kind=kind,
            account=account,
            amount=amount,
            balance=a.balance,
            held=a.held,
            ts_ms=now_ms,
            position=position,
            **extra,  # type: ignore[arg-type]
        )
        self.events.append(event)
        if self._tap is not None:
            self._tap((event,))

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def set_account(self, account: str, limits: AccountLimits) -> bool:
        check_account(account)
        now_ms = self._now_ms()
        existing = self._accounts.get(account)
        if existing is None:
            self._accounts[account] = _Account(limits)
        else:
            existing.limits = limits
        a = self._accounts[account]
        position = Position.parse(self.keys.bucket_of(account), self._next_id())
        self.events.append(
            AccountEvent(
                account=account,
                limits=limits,
                balance=a.balance,
                held=a.held,
                ts_ms=now_ms,
                position=position,
            )
        )
        return existing is None

    async def get_account(self, account: str) -> AccountState | None:
        check_account(account)
        a = self._accounts.get(account)
        if a is None:
            return None
        return AccountState(account=account, limits=a.limits, balance=a.balance, held=a.held)

    async def accept(self, request: AcceptRequest) -> AcceptResult:
        return self._accept(request, self._now_ms())

    async def accept_many(
        self, requests: Sequence[AcceptRequest], *, urgent: bool = False
    ) -> list[AcceptResult]:
        """Answered at once: nothing waits, so ``urgent`` changes nothing."""
        now_ms = self._now_ms()
        return [self._accept(request, now_ms) for request in requests]

    def _accept(self, r: AcceptRequest, now_ms: int) -> AcceptResult:
        a = self._accounts.get(r.account)
        if a is None:
            return AcceptResult(message_id=r.message_id, outcome=AcceptOutcome.UNKNOWN_ACCOUNT)
        idem = (r.account, r.idempotency_key) if r.idempotency_key is not None else None
        if idem is not None and idem in self._idempotency:
            return AcceptResult(
                message_id=r.message_id,
                outcome=AcceptOutcome.DUPLICATE,
                original_message_id=self._idempotency[idem],
            )
        if not a.limits.enabled:
            return AcceptResult(message_id=r.message_id, outcome=AcceptOutcome.ACCOUNT_DISABLED)
        second = now_ms // 1000
        window_used = a.window_used if a.window_second == second else 0
        throughput = a.limits.throughput
        if throughput > 0 and window_used > 0 and window_used + r.parts > throughput:
            return AcceptResult(message_id=r.message_id, outcome=AcceptOutcome.THROTTLED)
        quota_window = _quota_window(a.limits.quota_period, second)
        quota_used = a.quota_used if a.quota_window == quota_window else 0
        if a.limits.quota > 0 and quota_used + r.parts > a.limits.quota:
            return AcceptResult(message_id=r.message_id, outcome=AcceptOutcome.QUOTA_EXCEEDED)
        if a.balance - a.held - r.amount < -a.limits.credit_limit:
            return AcceptResult(message_id=r.message_id, outcome=AcceptOutcome.NO_CREDIT)
        hold_key = (self.keys.bucket_of(r.account), r.message_id)
        if hold_key in self._holds or self._settled_mark(*hold_key, now_ms) is not None:
            return AcceptResult(
                message_id=r.message_id,
                outcome=AcceptOutcome.DUPLICATE,
                original_message_id=r.message_id,
            )
        a.held += r.amount
        a.window_second, a.window_used = second, window_used + r.parts
        a.quota_window, a.quota_used = quota_window, quota_used + r.parts
        if idem is not None:
            self._idempotency[idem] = r.message_id
            expires = now_ms + self.config.idempotency_ttl * 1000
            self._idempotency_expiry.append((expires, idem))
        entry_id = self._next_id()
        self._holds[hold_key] = _Hold(r.account, r.amount, outbox_id=entry_id)
        outbox = self._outboxes.setdefault(self.shard, {}).setdefault(hold_key[0], {})
        outbox[entry_id] = OutboxEntry(
            entry_id=entry_id,
            message_id=r.message_id,
            account=r.account,
            parts=r.parts,
            price=r.price,
            payload=r.payload,
        )
        self._emit(
            EventKind.HOLD, r.account, r.amount, now_ms, message_id=r.message_id, parts=r.parts
        )
        return AcceptResult(message_id=r.message_id, outcome=AcceptOutcome.OK, outbox_id=entry_id)

    async def void_accepts(self, requests: Sequence[AcceptRequest]) -> list[VoidOutcome]:
        now_ms = self._now_ms()
        return [self._void(request, now_ms) for request in requests]

    def _void(self, r: AcceptRequest, now_ms: int) -> VoidOutcome:
        hold_key = (self.keys.bucket_of(r.account), r.message_id)
        hold = self._holds.get(hold_key)
        if hold is None:
            if self._settled_mark(*hold_key, now_ms) is not None:
                return VoidOutcome.KEPT
            self._remember_settled(*hold_key, SettledMark.RELEASED, now_ms)
            return VoidOutcome.BARRED
        a = self._accounts.get(r.account)
        if hold.account != r.account or a is None:
            return VoidOutcome.KEPT
        a.held -= hold.amount
        self._emit(EventKind.RELEASE, r.account, hold.amount, now_ms, message_id=r.message_id)
        del self._holds[hold_key]
        self._remember_settled(*hold_key, SettledMark.RELEASED, now_ms)
        self._outboxes.get(self.shard, {}).get(hold_key[0], {}).pop(hold.outbox_id, None)
        idem = (r.account, r.idempotency_key)
        if r.idempotency_key is not None and self._idempotency.get(idem) == r.message_id:
            del self._idempotency[idem]
        return VoidOutcome.VOIDED

    async def capture_many(self, captures: Sequence[Capture]) -> list[SettleResult]:
        return self._settle_all([(*capture, True) for capture in checked_captures(captures)])

    async def release_many(self, releases: Sequence[Release]) -> list[SettleResult]:
        return self._settle_all([(m, a, 0, o, False) for m, a, o in checked_releases(releases)])

    def _settle_all(self, items: list[tuple[str, str, int, str, bool]]) -> list[SettleResult]:
        """Settles each and deletes its outbox entry, if named."""
        results = []
        for message_id, account, amount, outbox_id, capture in items:
            results.append(self._settle(message_id, account, amount, capture=capture))
            if outbox_id:
                outbox = self._outboxes.get(self.shard, {}).get(self.keys.bucket_of(account), {})
                outbox.pop(outbox_id, None)
        return results

    def _settle(self, message_id: str, account: str, amount: int, *, capture: bool) -> SettleResult:
        now_ms = self._now_ms()
        hold_key = (self.keys.bucket_of(account), message_id)
        hold = self._holds.get(hold_key)
        if hold is None:
            mark = self._settled_mark(*hold_key, now_ms)
            if mark is None:
                return SettleResult(message_id=message_id, outcome=SettleOutcome.UNKNOWN_HOLD)
            if mark == SettledMark.RELEASED:
                return SettleResult(message_id=message_id, outcome=SettleOutcome.ALREADY_RELEASED)
            return SettleResult(
                message_id=message_id,
                outcome=SettleOutcome.ALREADY_CAPTURED,
                captured=int(mark[1:]),
            )
        if hold.account != account:
            return SettleResult(message_id=message_id, outcome=SettleOutcome.UNKNOWN_HOLD)
        if amount > hold.amount:
            return SettleResult(message_id=message_id, outcome=SettleOutcome.EXCEEDS_HOLD)
        a = self._accounts[account]
        if capture:
            a.balance -= amount
            a.held -= amount
            self._emit(EventKind.CAPTURE, account, amount, now_ms, message_id=message_id)
        rest = hold.amount - amount
        if not capture or rest > 0:
            a.held -= rest
            self._emit(EventKind.RELEASE, account, rest, now_ms, message_id=message_id)
        del self._holds[hold_key]
        mark = f"{SettledMark.CAPTURED}{amount}" if capture else SettledMark.RELEASED
        self._remember_settled(*hold_key, mark, now_ms)
        return SettleResult(
            message_id=message_id, outcome=SettleOutcome.OK, captured=amount, released=rest
        )

    async def adjust(
        self, account: str, amount: int, *, reason: str, reference: str
    ) -> AdjustResult:
        check_account(account)
        check_amount("amount", amount, low=-MAX_AMOUNT)
        if amount == 0:
            raise ValueError("amount must not be 0")
        check_reason(reason)
        check_token("reference", reference)
        now_ms = self._now_ms()
        a = self._accounts.get(account)
        if a is None:
            return AdjustResult(reference=reference, outcome=AdjustOutcome.UNKNOWN_ACCOUNT)
        outcome = AdjustOutcome.OK
        balance = a.balance + amount
        if reference in a.references:
            outcome = AdjustOutcome.DUPLICATE
        elif not -MAX_AMOUNT <= balance <= MAX_AMOUNT:
            outcome = AdjustOutcome.BALANCE_LIMIT
        elif amount < 0 and balance - a.held < -a.limits.credit_limit:
            outcome = AdjustOutcome.NO_CREDIT
        else:
            a.balance = balance
            a.references.add(reference)
            self._emit(
                EventKind.ADJUST, account, amount, now_ms, reference=reference, reason=reason
            )
        return AdjustResult(reference=reference, outcome=outcome, balance=a.balance, held=a.held)

    async def has_reference(self, account: str, reference: str) -> bool:
        check_account(account)
        check_token("reference", reference)
        a = self._accounts.get(account)
        return a is not None and reference in a.references

    async def read_outbox(self, shard: str | None = None) -> AsyncIterator[OutboxEntry]:
        shard = self.shard if shard is None else shard
        check_shard(shard)
        buckets = self._outboxes.get(shard, {})
        for bucket in sorted(buckets):
            for entry in list(buckets[bucket].values()):
                yield entry

    async def ack_outbox(self, refs: Sequence[OutboxRef], shard: str | None = None) -> int:
        shard = self.shard if shard is None else shard
        check_shard(shard)
        buckets = self._outboxes.get(shard, {})
        removed = 0
        for ref in refs:
            entries = buckets.get(self.keys.bucket_of(ref.account), {})
            removed += entries.pop(ref.entry_id, None) is not None
        return removed

    async def replace_outbox(
        self, ref: OutboxRef, payload: bytes, shard: str | None = None
    ) -> str | None:
        shard = self.shard if shard is None else shard
        check_shard(shard)
        if not isinstance(payload, bytes):
            raise ValueError("payload must be bytes")
        entries = self._outboxes.get(shard, {}).get(self.keys.bucket_of(ref.account), {})
        old = entries.pop(ref.entry_id, None)
        if old is None:
            return None
        entry_id = self._next_id()
        entries[entry_id] = msgspec.structs.replace(old, entry_id=entry_id, payload=payload)
        return entry_id

    async def append_message_events(self, events: Sequence[MessageEvent]) -> None:
        placed = [
            msgspec.structs.replace(
                event, position=Position.parse(self.keys.bucket_of(event.account), self._next_id())
            )
            for event in events
        ]
        self.events.extend(placed)
        if self._tap is not None:
            self._tap(placed)
