"""The webhook delivery log: every attempt's outcome, readable by the account.

Customers debugging their receiver ask "did you call me, and what did I
answer?"; the API shows them the latest attempts of their account, newest
first, optionally for one message. The log is a bounded recent view, not
history: each account keeps its last ``length`` attempts (and, in Redis, for
``ttl`` seconds after the last write).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Literal, Protocol

import msgspec

from ledger.redis_client import RedisClient

Outcome = Literal["delivered", "retrying", "failed"]
MAX_ERROR_LENGTH = 200


class DeliveryAttempt(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    message_id: str
    url: str
    event: str
    attempt: int
    """1 for the first try; 0 when the delivery was refused before any (payload too large)."""
    at_ms: int
    """Unix time in milliseconds when the attempt ended."""
    status: int | None
    """The receiver's HTTP status; None when no answer came."""
    error: str
    """Why no answer came (or why nothing was sent), at most MAX_ERROR_LENGTH characters."""
    outcome: Outcome


class DeliveryLog(Protocol):
    async def record(self, *entries: DeliveryAttempt) -> None:
        """Append entries, given in the order they happened."""

    async def recent(
        self, account: str, limit: int, message_id: str | None = None
    ) -> list[DeliveryAttempt]:
        """The account's latest ``limit`` entries (of one message if given), newest first."""


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(DeliveryAttempt).decode


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be >= 1, not {limit!r}")


def _newest_first(
    entries: Iterable[DeliveryAttempt], limit: int, message_id: str | None
) -> list[DeliveryAttempt]:
    found: list[DeliveryAttempt] = []
    for entry in entries:
        if message_id is None or entry.message_id == message_id:
            found.append(entry)
            if len(found) == limit:
                break
    return found


class MemoryDeliveryLog:
    """The log of embedded mode: the last ``length`` entries of each account, in memory."""

    def __init__(self, length: int) -> None:
        _check_limit(length)
        self._length = length
        self._entries: dict[str, deque[DeliveryAttempt]] = {}

    async def record(self, *entries: DeliveryAttempt) -> None:
        for entry in entries:
            log = self._entries.get(entry.account)
            if log is None:
                log = self._entries[entry.account] = deque(maxlen=self._length)
            log.appendleft(entry)

    async def recent(
        self, account: str, limit: int, message_id: str | None = None
    ) -> list[DeliveryAttempt]:
        _check_limit(limit)
        return _newest_first(self._entries.get(account, ()), limit, message_id)


class RedisDeliveryLog:
    """One Redis list per account, newest first, trimmed and expiring.

    A batch of entries is one pipeline: per account one LPUSH of its entries
    (oldest pushed first, so the newest ends at the head), one LTRIM and one
    EXPIRE. Keys are ``{namespace}:webhooklog:{account}``.
    """

    def __init__(self, redis: RedisClient, namespace: str, length: int, ttl: int) -> None:
        _check_limit(length)
        if ttl < 1:
            raise ValueError(f"ttl must be >= 1 second, not {ttl!r}")
        self._redis = redis
        self._namespace = namespace
        self._length = length
        self._ttl = ttl

    def key(self, account: str) -> str:
        return f"{self._namespace}:webhooklog:{account}"

    async def record(self, *entries: DeliveryAttempt) -> None:
        by_account: dict[str, list[bytes]] = {}
        for entry in entries:
            by_account.setdefault(entry.account, []).append(_encode(entry))
        if not by_account:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for account, encoded in by_account.items():
                key = self.key(account)
                pipe.lpush(key, *encoded)
                pipe.ltrim(key, 0, self._length - 1)
                pipe.expire(key, self._ttl)
            await pipe.execute()

    async def recent(
        self, account: str, limit: int, message_id: str | None = None
    ) -> list[DeliveryAttempt]:
        _check_limit(limit)
        stop = limit - 1 if message_id is None else self._length - 1
        raw = await self._redis.lrange(self.key(account), 0, stop)
        return _newest_first(map(_decode, raw), limit, message_id)
