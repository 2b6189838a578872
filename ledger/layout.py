"""Where ledger data lives in Redis: bucketed key names and the fields of each record.

Every key of one account carries the hash tag of the account's bucket
(`smsgw:{b17}:acct:42`), so one Lua call touching many accounts of a bucket
stays in one Redis Cluster slot (DESIGN.md, "Redis keys and Cluster"). The
bucket is `crc32(account) % buckets`: stable across processes and versions,
unlike Python's salted `hash()`.
"""

from __future__ import annotations

import zlib
from enum import StrEnum


class KeyKind(StrEnum):
    """What follows a bucket prefix in a key name."""

    ACCOUNT = "acct:"
    ACCOUNTS = "accounts"
    HOLD = "hold:"
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
    """Fields of the hold record `{bN}:hold:<message id>` kept while a message is in flight."""

    ACCOUNT = "account"
    AMOUNT = "amount"
    STATE = "state"
    CAPTURED = "captured"
    OUTBOX = "outbox"
    """The outbox entry its accept added, so a void can delete it."""


class HoldState(StrEnum):
    """A settled hold remembers how it ended, so a second settle changes nothing and says so."""

    CAPTURED = "captured"
    RELEASED = "released"


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
