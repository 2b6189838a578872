"""Where ledger data lives in Redis: bucketed key names and the fields of each record.

Every key of one account carries the hash tag of the account's bucket
(`smsgw:{b17}:acct:42`), so one Lua call touching many accounts of a bucket
stays in one Redis Cluster slot (DESIGN.md, "Redis keys and Cluster"). The
bucket is `crc32(account) % buckets`: stable across processes and versions,
unlike Python's salted `hash()`.

What a message keeps in Redis once settled (`python -m bench.redis_memory`
measures it): its settled mark, about 80 bytes, for `settled_hold_ttl`
(`SETTLED_SLICES`). Its hold record goes when it settles, its outbox entry
with it (settle.lua), its events when the persister has them (trim_events.lua);
an idempotency key, kept `idempotency_ttl`, exists only for a client that gave
one; its receipt correlation (the engine's) goes with its final receipt.
"""

from __future__ import annotations

import zlib
from enum import StrEnum


class KeyKind(StrEnum):
    """What follows a bucket prefix in a key name."""

    ACCOUNT = "acct:"
    ACCOUNTS = "accounts"
    HOLD = "hold:"
    SETTLED = "settled:"
    IDEMPOTENCY = "idem:"
    REFERENCES = "refs:"
    EVENTS = "events"
    OUTBOX = "outbox:"


class AccountField(StrEnum):
    """Fields of the account hash `{bN}:acct:<account>` (balance, limits, windows)."""

    ENABLED = "enabled"
    BALANCE = "balance"
    HELD = "held"
    CREDIT_LIMIT = "credit_limit"
    THROUGHPUT = "throughput"
    QUOTA = "quota"
    QUOTA_PERIOD = "quota_period"
    WINDOW_SECOND = "window_second"
    WINDOW_USED = "window_used"
    QUOTA_WINDOW = "quota_window"
    QUOTA_USED = "quota_used"
    LAST_EVENT = "last_event"
    """Stream id of the account's latest event: the cut-off reconciliation compares at."""


class HoldField(StrEnum):
    """Fields of the hold record `{bN}:hold:<message id>`, kept while a message is in flight."""

    ACCOUNT = "account"
    AMOUNT = "amount"
    OUTBOX = "outbox"
    """The outbox entry its accept added, so a void can delete it."""
    STATE = "state"
    CAPTURED = "captured"
    """How a hold settled before settled slices existed ended (`HoldState`):
    such a record is read, never written, until it expires."""


class HoldState(StrEnum):
    """The outcome a hold record settled before settled slices existed keeps."""

    CAPTURED = "captured"
    RELEASED = "released"


class SettledMark(StrEnum):
    """How a settled hold ended, as its settled slice keeps it: "c" and the
    amount captured, or "r" (released, voided or barred). A second settle finds
    it and changes nothing, a late accept of the id is a duplicate, a late
    void keeps it."""

    CAPTURED = "c"
    RELEASED = "r"


SETTLED_SLICES = 2
"""A settled hold is remembered in its bucket's hash of the current time slice
(`{bN}:settled:<slice>`, field message id, value a `SettledMark`), a slice
being `settled_hold_ttl / SETTLED_SLICES` long. The hash expires as a whole
once no lookup can reach it, so a mark is kept between `settled_hold_ttl` and
`settled_hold_ttl * (1 + 1 / SETTLED_SLICES)`: about 80 bytes per message,
where a hold hash with its own TTL kept about 250. Lookups read the current
slice and the `SETTLED_SLICES` before it (`common.lua`). A slice expiring
frees all its marks at once, which blocks Redis for as long as a DEL of it
(1.8 s for a million marks on a 2-core machine at load 12): Redis must run
with ``lazyfree-lazy-expire yes``, which frees expired keys off its main thread."""


class OutboxField(StrEnum):
    """Fields of one entry of a shard's outbox stream `{bN}:outbox:<shard>`."""

    MESSAGE_ID = "message_id"
    ACCOUNT = "account"
    PARTS = "parts"
    PRICE = "price"
    PAYLOAD = "payload"


_REMEMBERED_ACCOUNTS = 10_000


class LedgerKeys:
    """Builds the key names of one ledger namespace."""

    def __init__(self, namespace: str, buckets: int) -> None:
        self.namespace = namespace
        self.buckets = buckets
        self._bucket_of: dict[str, int] = {}
        """Buckets of accounts seen: every event of a message asks again."""

    def bucket_of(self, account: str) -> int:
        bucket = self._bucket_of.get(account)
        if bucket is None:
            bucket = zlib.crc32(account.encode()) % self.buckets
            if len(self._bucket_of) >= _REMEMBERED_ACCOUNTS:
                self._bucket_of.clear()
            self._bucket_of[account] = bucket
        return bucket

    def prefix(self, bucket: int) -> str:
        """The hash-tagged start of every key of a bucket."""
        return f"{self.namespace}:{{b{bucket}}}:"

    def account(self, account: str) -> str:
        return f"{self.prefix(self.bucket_of(account))}{KeyKind.ACCOUNT}{account}"

    def hold(self, account: str, message_id: str) -> str:
        """A message's hold, in its account's bucket (message ids are unique per bucket)."""
        return f"{self.prefix(self.bucket_of(account))}{KeyKind.HOLD}{message_id}"

    def settled(self, bucket: int, now: float, ttl: int) -> tuple[list[str], int]:
        """The settled slices a lookup at ``now`` reads (the current one first)
        and the seconds the current one must still live; see `SETTLED_SLICES`.

        Slices follow the caller's clock, not Redis's (a script must declare
        its keys): shards whose clocks differ by seconds disagree only on
        marks that are `settled_hold_ttl` old."""
        length = -(-ttl // SETTLED_SLICES)
        current = int(now // length)
        prefix = f"{self.prefix(bucket)}{KeyKind.SETTLED}"
        keys = [f"{prefix}{current - back}" for back in range(SETTLED_SLICES + 1)]
        return keys, (current + SETTLED_SLICES + 1) * length - int(now)

    def idempotency(self, account: str, key: str) -> str:
        """Idempotency keys are the client's, so they are scoped to its account."""
        return f"{self.prefix(self.bucket_of(account))}{KeyKind.IDEMPOTENCY}{account}:{key}"

    def references(self, account: str) -> str:
        """The hash of adjustment references an account has seen (kept for good)."""
        return f"{self.prefix(self.bucket_of(account))}{KeyKind.REFERENCES}{account}"

    def accounts(self, bucket: int) -> str:
        """The set of accounts in a bucket, so reconciliation can list them."""
        return f"{self.prefix(bucket)}{KeyKind.ACCOUNTS}"

    def events(self, bucket: int) -> str:
        return f"{self.prefix(bucket)}{KeyKind.EVENTS}"

    def outbox(self, bucket: int, shard: str) -> str:
        return f"{self.prefix(bucket)}{KeyKind.OUTBOX}{shard}"

    def meta(self) -> str:
        """Deployment facts (the bucket count), outside any bucket."""
        return f"{self.namespace}:meta"

    def pattern(self) -> str:
        """A SCAN pattern matching every key of the namespace."""
        return f"{self.namespace}:*"
