"""HTTP API keys: shown once, stored hashed, revocable, shared by every shard.

A key reads ``sgw_<key id>_<secret>``. The key id finds the record; the
SHA-256 of the whole key is what is stored and compared (the secret has 256
random bits, so a fast hash is enough, unlike an 8-character SMPP password).
Production keeps the records in one Redis hash; `smsgw dev` in a dict.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Protocol

import msgspec

from engine.loop.single_flight import SingleFlight
from ledger.redis_client import RedisClient

_PREFIX = "sgw_"
_REMEMBERED_KEYS = 10_000


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    account: str
    digest: str
    """SHA-256 hex of the whole key."""
    label: str = ""
    created_at: int = 0
    """Unix seconds."""
    revoked_at: int = 0


def new_api_key(account: str, label: str = "") -> tuple[ApiKey, str]:
    """A fresh record and the key itself (give the key to the customer once)."""
    key_id = secrets.token_hex(6)
    key = f"{_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKey(
        key_id=key_id,
        account=account,
        digest=key_digest(key),
        label=label,
        created_at=int(time.time()),
    )
    return record, key


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id_of(key: str) -> str | None:
    """The key id of a well-formed key, else None (never raises on bad input)."""
    if not key.startswith(_PREFIX) or len(key) > 128:
        return None
    key_id, sep, secret = key[len(_PREFIX) :].partition("_")
    return key_id if sep and key_id and secret else None


def matches(record: ApiKey, key: str) -> bool:
    return not record.revoked_at and hmac.compare_digest(record.digest, key_digest(key))


class ApiKeyStore(Protocol):
    async def get(self, key_id: str) -> ApiKey | None: ...

    async def put(self, record: ApiKey) -> None: ...

    async def of_account(self, account: str) -> list[ApiKey]: ...


class MemoryApiKeyStore:
    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}

    async def get(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    async def put(self, record: ApiKey) -> None:
        self._keys[record.key_id] = record

    async def of_account(self, account: str) -> list[ApiKey]:
        return [record for record in self._keys.values() if record.account == account]


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(ApiKey).decode


class RedisApiKeyStore:
    """One hash ``{namespace}:apikeys``: key id -> record (JSON)."""

    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self._redis = redis
        self._key = f"{namespace}:apikeys"

    async def get(self, key_id: str) -> ApiKey | None:
        raw = await self._redis.hget(self._key, key_id)
        return None if raw is None else _decode(raw)

    async def put(self, record: ApiKey) -> None:
        await self._redis.hset(self._key, record.key_id, _encode(record))

    async def of_account(self, account: str) -> list[ApiKey]:
        records = [_decode(raw) for raw in (await self._redis.hgetall(self._key)).values()]
        return [record for record in records if record.account == account]


class TrustedKeys:
    """API keys checked on every request, trusted from memory for ``ttl``
    seconds after a check. In the last quarter of that time a use starts one
    check in the background, so a steady client never waits on the store and
    no burst of checks comes back every ``ttl`` seconds; yet a key revoked on
    another shard still stops working within ``ttl``. Concurrent checks of
    one key share one store read."""

    def __init__(
        self, store: ApiKeyStore, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._trusted: dict[str, tuple[float, str]] = {}
        self._checking: SingleFlight[str, str | None] = SingleFlight()

    def trusted(self, key: str) -> str | None:
        """The account of a key checked lately; None: it must be checked."""
        entry = self._trusted.get(key)
        if entry is None:
            return None
        left = entry[0] - self._clock()
        if left <= 0:
            return None
        if left < self._ttl / 4:
            self._start(key)
        return entry[1]

    async def account_of(self, key: str) -> str | None:
        """The key's account, from memory or the store; None for a bad key."""
        account = self.trusted(key)
        if account is not None:
            return account
        return await asyncio.shield(self._start(key))

    def forget_account(self, account: str) -> None:
        """Its keys are checked again on next use (one was just revoked here)."""
        self._trusted = {k: v for k, v in self._trusted.items() if v[1] != account}

    def _start(self, key: str) -> asyncio.Future[str | None]:
        """The check of ``key`` under way, or a new one (a background check's
        failure is the next caller's to see)."""
        return self._checking.start(key, lambda: self._check(key))

    async def _check(self, key: str) -> str | None:
        key_id = key_id_of(key)
        record = None if key_id is None else await self._store.get(key_id)
        if record is None or not matches(record, key):
            self._trusted.pop(key, None)
            return None
        if len(self._trusted) >= _REMEMBERED_KEYS:
            self._trusted.clear()
        self._trusted[key] = (self._clock() + self._ttl, record.account)
        return record.account
