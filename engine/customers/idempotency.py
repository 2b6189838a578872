"""Idempotency-Key: one answer per (account, key), whatever the number of retries.

A client that lost our answer (a timeout, a dropped connection) sends the same
request again with the same key; it must get the first answer back, not a
second message. The first request *claims* the key with a pending marker, runs,
then stores its answer; a retry meanwhile is told the first one is still
running, and a retry with another body under the same key is a client bug.
The body is compared by its SHA-256 (`fingerprint`), never stored.

Production keeps the records in Redis, so every shard sees them; `smsgw dev`
in a dict.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

import msgspec

from ledger.redis_client import RedisClient
from ledger.scripts import LuaScript


class StoredAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The HTTP answer given to the first request, replayed to every retry:
    only one that accepted a message (the HTTP front frees the key otherwise)."""

    status: int
    body: bytes
    media_type: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)


class Claim(msgspec.Struct, frozen=True):
    """This request owns the key: it runs, then `finish`es or `abandon`s it."""

    fingerprint: str
    token: str


class Clash(StrEnum):
    """Why a request may not run under its key (the HTTP problem code)."""

    IN_PROGRESS = "idempotency_in_progress"
    CONFLICT = "idempotency_conflict"


class _Record(msgspec.Struct, frozen=True, array_like=True):
    fingerprint: str
    token: str = ""
    """Set while the first request runs (the pending marker)."""
    answer: StoredAnswer | None = None


def fingerprint(body: bytes) -> str:
    """What makes two requests "the same": their raw bodies' SHA-256."""
    return hashlib.sha256(body).hexdigest()


def _outcome(record: _Record, claim_fingerprint: str) -> StoredAnswer | Clash:
    if record.fingerprint != claim_fingerprint:
        return Clash.CONFLICT
    if record.answer is None:
        return Clash.IN_PROGRESS
    return record.answer


class IdempotencyStore(Protocol):
    async def claim(
        self, account: str, key: str, fingerprint: str, hold: float
    ) -> Claim | StoredAnswer | Clash:
        """Claim ``key`` for ``hold`` seconds (the longest a request may run: a
        crashed request frees its key then), or what an earlier request left."""
        ...

    async def finish(
        self, account: str, key: str, claim: Claim, answer: StoredAnswer, keep: float
    ) -> None:
        """Store ``answer`` for ``keep`` seconds, if ``claim`` still owns the key."""
        ...

    async def abandon(self, account: str, key: str, claim: Claim) -> None:
        """Free the key (nothing was done that a retry could repeat)."""
        ...


class MemoryIdempotencyStore:
    """Records in a dict ordered by expiry (finishing moves one to the end)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._records: dict[tuple[str, str], tuple[float, _Record]] = {}

    def _purge(self, now: float) -> None:
        """Drop expired records from the front; a pending record (shorter hold)
        may sit behind a longer-lived one for a while, and is checked on read."""
        while self._records:
            slot, (expires_at, _) = next(iter(self._records.items()))
            if expires_at > now:
                return
            del self._records[slot]

    async def claim(
        self, account: str, key: str, fingerprint: str, hold: float
    ) -> Claim | StoredAnswer | Clash:
        now = self._clock()
        self._purge(now)
        slot = (account, key)
        existing = self._records.get(slot)
        if existing is not None and existing[0] > now:
            return _outcome(existing[1], fingerprint)
        claim = Claim(fingerprint, secrets.token_hex(8))
        self._records.pop(slot, None)
        self._records[slot] = (now + hold, _Record(fingerprint, claim.token))
        return claim

    def _owned(self, slot: tuple[str, str], claim: Claim) -> bool:
        existing = self._records.get(slot)
        return existing is not None and existing[1].token == claim.token

    async def finish(
        self, account: str, key: str, claim: Claim, answer: StoredAnswer, keep: float
    ) -> None:
        slot = (account, key)
        if self._owned(slot, claim):
            del self._records[slot]
            self._records[slot] = (self._clock() + keep, _Record(claim.fingerprint, answer=answer))

    async def abandon(self, account: str, key: str, claim: Claim) -> None:
        slot = (account, key)
        if self._owned(slot, claim):
            del self._records[slot]

    def __len__(self) -> int:
        return len(self._records)


_FINISH = LuaScript.from_package("engine.customers", "finish_idempotent")
"""Replaces or deletes a record only while it is still the request's pending marker."""

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Record).decode


class RedisIdempotencyStore:
    """One key per record: ``{namespace}:idem:<account>:<SHA-256 of the key>``
    (hashed, so a client's key of any printable characters stays one bounded
    Redis key). SET NX claims; a compare-and-set script finishes."""

    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace

    def _key(self, account: str, key: str) -> str:
        return f"{self._namespace}:idem:{account}:{hashlib.sha256(key.encode()).hexdigest()}"

    async def claim(
        self, account: str, key: str, fingerprint: str, hold: float
    ) -> Claim | StoredAnswer | Clash:
        name = self._key(account, key)
        claim = Claim(fingerprint, secrets.token_hex(8))
        pending = _encode(_Record(fingerprint, claim.token))
        while True:
            if await self._redis.set(name, pending, nx=True, px=_ms(hold)):
                return claim
            raw = await self._redis.get(name)
            if raw is not None:  # else it expired between the two calls: claim again
                return _outcome(_decode(raw), fingerprint)

    async def finish(
        self, account: str, key: str, claim: Claim, answer: StoredAnswer, keep: float
    ) -> None:
        pending = _encode(_Record(claim.fingerprint, claim.token))
        done = _encode(_Record(claim.fingerprint, answer=answer))
        await _FINISH(self._redis, [self._key(account, key)], [pending, done, _ms(keep)])

    async def abandon(self, account: str, key: str, claim: Claim) -> None:
        pending = _encode(_Record(claim.fingerprint, claim.token))
        await _FINISH(self._redis, [self._key(account, key)], [pending, b"", 0])


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
