"""The production ledger: balances live only in Redis and change only inside Lua scripts.

Concurrent calls are coalesced per bucket (one bucket = one Cluster slot) into
one script call each (`BatchCoalescer`). Every key a script touches is declared
in KEYS, as Redis asks of scripts; the per-item fields go over as one msgpack
argument (decoded by Redis's `cmsgpack`) that refers to its keys by index, so
the client encodes few arguments per message.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import msgspec

from ledger.coalescer import BatchCoalescer
from ledger.config import LedgerConfig
from ledger.events import MessageEvent, message_events_body
from ledger.layout import AccountField, KeyKind, LedgerKeys, OutboxField
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
from ledger.redis_client import RedisClient
from ledger.scripts import LedgerScripts
from ledger.settling import SettlesLists, checked_captures, checked_releases

_ACCEPT_CODES = {outcome.value.encode(): outcome for outcome in AcceptOutcome}
_SETTLE_CODES = {outcome.value.encode(): outcome for outcome in SettleOutcome}
_ADJUST_CODES = {outcome.value.encode(): outcome for outcome in AdjustOutcome}
_VOID_CODES = {outcome.value.encode(): outcome for outcome in VoidOutcome}
_ACCOUNT_FIELDS = (
    AccountField.ENABLED,
    AccountField.BALANCE,
    AccountField.HELD,
    AccountField.CREDIT_LIMIT,
    AccountField.THROUGHPUT,
    AccountField.QUOTA,
    AccountField.QUOTA_PERIOD,
)
_OK, _DUPLICATE = AcceptOutcome.OK, AcceptOutcome.DUPLICATE
"""Module names: an enum member as a class attribute costs 90 ns a lookup in Python 3.11."""
_CAPTURE, _RELEASE = "c", "r"
_OUTBOX_PAGE = 1_000
_ACCOUNT, _HOLD = KeyKind.ACCOUNT.value, KeyKind.HOLD.value
_IDEMPOTENCY, _REFERENCES = KeyKind.IDEMPOTENCY.value, KeyKind.REFERENCES.value

SettleItem = tuple[str, str, str, int, str]  # op, message id, account, amount, outbox id
AdjustItem = tuple[str, int, str, str]  # account, amount, reason, reference


class _DeclaredKeys:
    """The KEYS of one script call, each once; items name them by (1-based) index."""

    __slots__ = ("_index", "_prefix", "keys")

    def __init__(self, prefix: str, *fixed: str) -> None:
        self._prefix = prefix
        self.keys = list(fixed)
        self._index: dict[str, int] = {}

    def index(self, kind: str, name: str) -> int:
        key = self._prefix + kind + name
        found = self._index.get(key)
        if found is None:
            self.keys.append(key)
            found = self._index[key] = len(self.keys)
        return found


class BucketCountMismatch(RuntimeError):
    """The configured bucket count differs from the one this Redis namespace was built with."""


class RedisLedger(SettlesLists):
    """The Redis backend of `ledger.protocol.Ledger` for one shard.

    `redis` must return bytes (`decode_responses=False`, the default): outbox
    payloads are opaque bytes. `clock` (seconds since the epoch) replaces the
    Redis server clock for throughput and quota windows; it exists so tests can
    drive time, and every shard should otherwise share the server's clock.
    """

    def __init__(
        self,
        redis: RedisClient,
        config: LedgerConfig | None = None,
        *,
        shard: str = "shard-0",
        clock: Callable[[], float] | None = None,
    ) -> None:
        if redis.get_encoder().decode_responses:
            raise ValueError("the ledger needs a Redis client with decode_responses=False")
        check_shard(shard)
        self.config = config or LedgerConfig()
        self.shard = shard
        self.keys = LedgerKeys(self.config.namespace, self.config.buckets)
        self._redis = redis
        self._clock = clock
        self._scripts = LedgerScripts()
        buckets = range(self.config.buckets)
        self._prefixes = [self.keys.prefix(bucket) for bucket in buckets]
        self._events = [self.keys.events(bucket) for bucket in buckets]
        self._outboxes = [self.keys.outbox(bucket, shard) for bucket in buckets]
        limits = {"max_batch": self.config.max_batch, "max_in_flight": self.config.max_in_flight}
        self._accepts = BatchCoalescer(self._accept_batch, **limits)
        self._settles = BatchCoalescer(self._settle_batch, **limits)
        self._adjusts = BatchCoalescer(self._adjust_batch, **limits)

    def _now(self) -> str:
        return "" if self._clock is None else str(int(self._clock() * 1000))

    def _settled(self, bucket: int) -> tuple[list[str], int]:
        """The bucket's settled slices now, and how long the current one must live."""
        now = time.time() if self._clock is None else self._clock()
        return self.keys.settled(bucket, now, self.config.settled_hold_ttl)

    async def start(self) -> None:
        meta = self.keys.meta()
        await self._redis.hsetnx(meta, "buckets", self.config.buckets)
        stored = int(await self._redis.hget(meta, "buckets"))
        if stored != self.config.buckets:
            raise BucketCountMismatch(
                f"namespace {self.config.namespace!r} was built with {stored} buckets, "
                f"config says {self.config.buckets}"
            )
        for script in self._scripts.all():
            await script.load(self._redis)

    async def aclose(self) -> None:
        for coalescer in (self._accepts, self._settles, self._adjusts):
            await coalescer.aclose()

    async def set_account(self, account: str, limits: AccountLimits) -> bool:
        check_account(account)
        bucket = self.keys.bucket_of(account)
        keys = (self._events[bucket], self.keys.account(account), self.keys.accounts(bucket))
        args = (
            self._now(),
            account,
            "1" if limits.enabled else "0",
            limits.credit_limit,
            limits.throughput,
            limits.quota,
            str(limits.quota_period),
        )
        return await self._scripts.set_account(self._redis, keys, args) == 1

    async def get_account(self, account: str) -> AccountState | None:
        check_account(account)
        values = await self._redis.hmget(self.keys.account(account), _ACCOUNT_FIELDS)
        if values[1] is None:
            return None
        enabled, balance, held, credit_limit, throughput, quota, period = values
        limits = AccountLimits(
            enabled=enabled == b"1",
            credit_limit=int(credit_limit),
            throughput=int(throughput),
            quota=int(quota),
            quota_period=QuotaPeriod(period.decode()),
        )
        return AccountState(account=account, limits=limits, balance=int(balance), held=int(held))

    async def accept(self, request: AcceptRequest) -> AcceptResult:
        return await self._accepts.submit(self.keys.bucket_of(request.account), request)

    async def accept_many(
        self, requests: Sequence[AcceptRequest], *, urgent: bool = False
    ) -> list[AcceptResult]:
        bucket_of = self.keys.bucket_of
        return await self._accepts.submit_many(
            [(bucket_of(r.account), r) for r in requests], urgent=urgent
        )

    async def _accept_batch(self, bucket: int, requests: list[AcceptRequest]) -> list[AcceptResult]:
        keys, items = self._accept_items(bucket, requests, self._settled(bucket)[0])
        args = (
            self._now(),
            self.config.idempotency_ttl,
            msgspec.msgpack.encode(items),
            b"".join([r.payload for r in requests]),
        )
        reply = await self._scripts.accept(self._redis, keys.keys, args)
        results = []
        for request, code, value in zip(requests, reply[::2], reply[1::2], strict=True):
            outcome = _ACCEPT_CODES[code]
            if outcome is _OK:
                result = AcceptResult(
                    message_id=request.message_id, outcome=outcome, outbox_id=value.decode()
                )
            elif outcome is _DUPLICATE:
                result = AcceptResult(
                    message_id=request.message_id,
                    outcome=outcome,
                    original_message_id=value.decode(),
                )
            else:
                result = AcceptResult(message_id=request.message_id, outcome=outcome)
            results.append(result)
        return results

    def _bucket_keys(self, bucket: int, settled: list[str]) -> _DeclaredKeys:
        """KEYS of accept, settle and void: events, outbox, settled slices, then the items'."""
        return _DeclaredKeys(
            self._prefixes[bucket], self._events[bucket], self._outboxes[bucket], *settled
        )

    def _accept_items(
        self, bucket: int, requests: Sequence[AcceptRequest], settled: list[str]
    ) -> tuple[_DeclaredKeys, list[tuple[str, str, int, int, int, int, int, int]]]:
        """The keys and per-message items of accept.lua (void.lua reads them too)."""
        keys = self._bucket_keys(bucket, settled)
        items = [
            (
                r.message_id,
                r.account,
                keys.index(_ACCOUNT, r.account),
                keys.index(_HOLD, r.message_id),
                0 if r.idempotency_key is None
                else keys.index(_IDEMPOTENCY, f"{r.account}:{r.idempotency_key}"),
                r.parts,
                r.price,
                len(r.payload),
            )
            for r in requests
        ]  # fmt: skip
        return keys, items

    async def void_accepts(self, requests: Sequence[AcceptRequest]) -> list[VoidOutcome]:
        by_bucket: dict[int, list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            by_bucket[self.keys.bucket_of(request.account)].append(index)
        outcomes: list[VoidOutcome] = [VoidOutcome.KEPT] * len(requests)
        for bucket, indexes in by_bucket.items():
            settled, slice_ttl = self._settled(bucket)
            chosen = [requests[index] for index in indexes]
            keys, items = self._accept_items(bucket, chosen, settled)
            args = (self._now(), slice_ttl, msgspec.msgpack.encode(items))
            reply = await self._scripts.void(self._redis, keys.keys, args)
            for index, code in zip(indexes, reply, strict=True):
                outcomes[index] = _VOID_CODES[code]
        return outcomes

    async def capture_many(self, captures: Sequence[Capture]) -> list[SettleResult]:
        return await self._settle_all([(_CAPTURE, *c) for c in checked_captures(captures)])

    async def release_many(self, releases: Sequence[Release]) -> list[SettleResult]:
        items = [(_RELEASE, m, a, 0, o) for m, a, o in checked_releases(releases)]
        return await self._settle_all(items)

    async def _settle_all(self, items: list[SettleItem]) -> list[SettleResult]:
        """Queues each item in its bucket's next script call: one future, not a task per message."""
        bucket_of = self.keys.bucket_of
        return await self._settles.submit_many([(bucket_of(item[2]), item) for item in items])

    async def _settle_batch(self, bucket: int, items: list[SettleItem]) -> list[SettleResult]:
        settled, slice_ttl = self._settled(bucket)
        keys = self._bucket_keys(bucket, settled)
        declared = [
            (
                op,
                message_id,
                account,
                keys.index(_ACCOUNT, account),
                keys.index(_HOLD, message_id),
                amount,
                outbox_id,
            )
            for op, message_id, account, amount, outbox_id in items
        ]
        args = (self._now(), slice_ttl, msgspec.msgpack.encode(declared))
        reply = await self._scripts.settle(self._redis, keys.keys, args)
        return [
            SettleResult(
                message_id=item[1],
                outcome=_SETTLE_CODES[code],
                captured=captured,
                released=released,
            )
            for item, code, captured, released in zip(
                items, reply[::3], reply[1::3], reply[2::3], strict=True
            )
        ]

    async def adjust(
        self, account: str, amount: int, *, reason: str, reference: str
    ) -> AdjustResult:
        check_account(account)
        check_amount("amount", amount, low=-MAX_AMOUNT)
        if amount == 0:
            raise ValueError("amount must not be 0")
        check_reason(reason)
        check_token("reference", reference)
        item = (account, amount, reason, reference)
        return await self._adjusts.submit(self.keys.bucket_of(account), item)

    async def has_reference(self, account: str, reference: str) -> bool:
        check_account(account)
        check_token("reference", reference)
        return bool(await self._redis.hexists(self.keys.references(account), reference))

    async def _adjust_batch(self, bucket: int, items: list[AdjustItem]) -> list[AdjustResult]:
        keys = _DeclaredKeys(self._prefixes[bucket], self._events[bucket])
        declared = [
            (account, keys.index(_ACCOUNT, account), keys.index(_REFERENCES, account), *rest)
            for account, *rest in items
        ]
        args = (self._now(), msgspec.msgpack.encode(declared))
        reply = await self._scripts.adjust(self._redis, keys.keys, args)
        return [
            AdjustResult(
                reference=item[3],
                outcome=_ADJUST_CODES[reply[3 * index]],
                balance=reply[3 * index + 1],
                held=reply[3 * index + 2],
            )
            for index, item in enumerate(items)
        ]

    async def read_outbox(self, shard: str | None = None) -> AsyncIterator[OutboxEntry]:
        shard = self.shard if shard is None else shard
        check_shard(shard)
        for bucket in range(self.config.buckets):
            key = self.keys.outbox(bucket, shard)
            start = "-"
            while True:
                page = await self._redis.xrange(key, start, "+", count=_OUTBOX_PAGE)
                for entry_id, fields in page:
                    yield _outbox_entry(entry_id.decode(), fields)
                if len(page) < _OUTBOX_PAGE:
                    break
                start = "(" + page[-1][0].decode()

    async def ack_outbox(self, refs: Sequence[OutboxRef], shard: str | None = None) -> int:
        shard = self.shard if shard is None else shard
        check_shard(shard)
        by_bucket: dict[int, list[str]] = defaultdict(list)
        for ref in refs:
            by_bucket[self.keys.bucket_of(ref.account)].append(ref.entry_id)
        if not by_bucket:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket, entry_ids in by_bucket.items():
                pipe.xdel(self.keys.outbox(bucket, shard), *entry_ids)
            return sum(await pipe.execute())

    async def replace_outbox(
        self, ref: OutboxRef, payload: bytes, shard: str | None = None
    ) -> str | None:
        shard = self.shard if shard is None else shard
        check_shard(shard)
        if not isinstance(payload, bytes):
            raise ValueError("payload must be bytes")
        outbox = self.keys.outbox(self.keys.bucket_of(ref.account), shard)
        script = self._scripts.replace_outbox
        entry_id = await script(self._redis, (outbox,), (ref.entry_id, payload))
        return entry_id.decode() or None

    async def append_message_events(self, events: Sequence[MessageEvent]) -> None:
        if not events:
            return
        by_bucket: dict[int, list[MessageEvent]] = {}
        for event in events:
            by_bucket.setdefault(self.keys.bucket_of(event.account), []).append(event)
        await asyncio.gather(*(self._append(b, batch) for b, batch in by_bucket.items()))

    async def _append(self, bucket: int, events: list[MessageEvent]) -> None:
        body = message_events_body(events)
        await self._scripts.append_events(self._redis, (self._events[bucket],), (body,))


def _outbox_entry(entry_id: str, fields: dict[bytes, Any]) -> OutboxEntry:
    return OutboxEntry(
        entry_id=entry_id,
        message_id=fields[OutboxField.MESSAGE_ID.encode()].decode(),
        account=fields[OutboxField.ACCOUNT.encode()].decode(),
        parts=int(fields[OutboxField.PARTS.encode()]),
        price=int(fields[OutboxField.PRICE.encode()]),
        payload=fields[OutboxField.PAYLOAD.encode()],
    )
