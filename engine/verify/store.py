"""Where verifications live until their code expired and a while after.

Production keeps each in a Redis hash, ``{namespace}:verify:code:<id>``, with a
TTL (the code's life plus ``keep_after_expiry``), so every shard can check a
code another shard sent; a check is one script call (`lua/check_code.lua`).
`smsgw dev` keeps them in a dict. Both apply the rule of
`engine.verify.model.decide`, and the contract tests run on both.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from engine.verify.model import Status, Verdict, Verification, decide
from ledger.redis_client import RedisClient
from ledger.scripts import LuaScript


class VerificationStore(Protocol):
    async def put(self, verification: Verification, keep_ms: int) -> None:
        """Store a new verification for ``keep_ms`` (it is not found after)."""
        ...

    async def get(self, verification_id: str, now_ms: int) -> Verification | None: ...

    async def check(
        self, verification: Verification, matched: bool, now_ms: int
    ) -> tuple[Verdict, Verification] | None:
        """Apply one check (whether the code ``matched``) atomically to the
        stored verification; None when it is gone."""
        ...


class MemoryVerificationStore:
    def __init__(self) -> None:
        self._held: dict[str, tuple[Verification, int]] = {}
        """id -> (verification, Unix ms until which it is kept), in the order stored."""

    def _purge(self, now_ms: int) -> None:
        """Drop lapsed records from the front; one kept shorter than an older
        one waits behind it a while, and is checked on read."""
        while self._held:
            verification_id, (_, until) = next(iter(self._held.items()))
            if until > now_ms:
                return
            del self._held[verification_id]

    async def put(self, verification: Verification, keep_ms: int) -> None:
        self._held[verification.id] = (verification, verification.created_ms + keep_ms)

    async def get(self, verification_id: str, now_ms: int) -> Verification | None:
        self._purge(now_ms)
        held = self._held.get(verification_id)
        return held[0] if held is not None and held[1] > now_ms else None

    async def check(
        self, verification: Verification, matched: bool, now_ms: int
    ) -> tuple[Verdict, Verification] | None:
        held = self._held.get(verification.id)
        if held is None or held[1] <= now_ms:
            return None
        verdict, after = decide(held[0], matched, now_ms)
        self._held[verification.id] = (after, held[1])
        return verdict, after

    def __len__(self) -> int:
        return len(self._held)


_PUT = LuaScript.from_package("engine.verify", "put_verification")
_CHECK = LuaScript.from_package("engine.verify", "check_code")
_STATE_AFTER = {
    Verdict.APPROVED: Status.APPROVED,
    Verdict.ALREADY_USED: Status.APPROVED,
    Verdict.MAX_ATTEMPTS_REACHED: Status.MAX_ATTEMPTS_REACHED,
    Verdict.PENDING: Status.PENDING,
    Verdict.EXPIRED: Status.PENDING,
}
"""The stored state a verdict leaves (an expired code's stays pending: expiry is read
from the clock)."""
_FIELDS = tuple(Verification.__struct_fields__[1:])
"""Every field but the id, which is in the key."""
_BINARY = frozenset({"salt", "digest"})


class RedisVerificationStore:
    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace

    def _key(self, verification_id: str) -> str:
        return f"{self._namespace}:verify:code:{verification_id}"

    async def put(self, verification: Verification, keep_ms: int) -> None:
        fields = msgspec.structs.asdict(verification)
        args: list[object] = [keep_ms]
        for name in _FIELDS:
            value = fields[name]
            args += [name, value if isinstance(value, bytes | int) else str(value)]
        await _PUT(self._redis, [self._key(verification.id)], args)

    async def get(self, verification_id: str, now_ms: int) -> Verification | None:
        held = await self._redis.hgetall(self._key(verification_id))  # type: ignore[misc]
        if not held:
            return None
        fields = {_text(name): value for name, value in held.items()}
        data = {name: value if name in _BINARY else _text(value) for name, value in fields.items()}
        return msgspec.convert({"id": verification_id, **data}, Verification, strict=False)

    async def check(
        self, verification: Verification, matched: bool, now_ms: int
    ) -> tuple[Verdict, Verification] | None:
        answer = await _CHECK(
            self._redis, [self._key(verification.id)], [1 if matched else 0, now_ms]
        )
        if not answer:
            return None
        verdict = Verdict(_text(answer[0]))
        after = msgspec.structs.replace(
            verification, state=_STATE_AFTER[verdict], attempts=int(answer[1])
        )
        return verdict, after


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
