"""How many codes one account may send one number: a least interval and a sliding window.

The limit protects the number's owner from a flood of codes and the account
from paying for them (a script asking codes for one number again and again).
It counts per (account, number): one bank's customers do not use up another's.
A place is taken before the SMS is sent and given back when the engine
refuses it, so only codes that left count. Production keeps the recent sends
in Redis (one sorted set per account and number, `lua/reserve_send.lua`), so
the limit holds across shards; `smsgw dev` in memory.
"""

from __future__ import annotations

import math
from typing import Protocol

import msgspec

from engine.verify.model import Limited
from engine.verify.settings import VerifySettings
from ledger.redis_client import RedisClient
from ledger.scripts import LuaScript


class SendLimits(msgspec.Struct, frozen=True):
    per_window: int
    window_ms: int
    interval_ms: int

    @classmethod
    def of(cls, settings: VerifySettings) -> SendLimits:
        return cls(
            settings.sends_per_window,
            _ms(settings.send_window),
            _ms(settings.resend_interval),
        )

    def refusal(self, limit: str, wait_ms: int) -> Limited:
        """What the caller is told: the limit by name, and when to come back."""
        seconds = max(1, math.ceil(wait_ms / 1000))
        if limit == "resend_interval":
            rule = f"at least {self.interval_ms / 1000:g} s between two codes to one number"
        else:
            rule = f"at most {self.per_window} codes to one number per {self.window_ms / 1000:g} s"
        return Limited(limit, seconds, f"{rule} ({limit}); try again in {seconds} s")


def admit(sent_ms: list[int], now_ms: int, limits: SendLimits) -> tuple[str, int]:
    """``('', 0)`` when a code may go now, else (the limit, ms to wait);
    ``sent_ms``: the earlier codes' times inside the window, oldest first."""
    if sent_ms and now_ms - sent_ms[-1] < limits.interval_ms:
        return "resend_interval", sent_ms[-1] + limits.interval_ms - now_ms
    if len(sent_ms) >= limits.per_window:
        return "sends_per_window", sent_ms[0] + limits.window_ms - now_ms
    return "", 0


class SendLimiter(Protocol):
    async def reserve(
        self, account: str, to: str, verification_id: str, now_ms: int
    ) -> Limited | None:
        """Take a place for the code of ``verification_id``; None: taken."""
        ...

    async def release(self, account: str, to: str, verification_id: str) -> None:
        """Give the place back: its SMS was refused."""
        ...


class MemorySendLimiter:
    def __init__(self, limits: SendLimits) -> None:
        self._limits = limits
        self._sent: dict[tuple[str, str], list[tuple[int, str]]] = {}

    async def reserve(
        self, account: str, to: str, verification_id: str, now_ms: int
    ) -> Limited | None:
        limits = self._limits
        recent = [
            (at, member)
            for at, member in self._sent.get((account, to), ())
            if at > now_ms - limits.window_ms
        ]
        limit, wait_ms = admit([at for at, _ in recent], now_ms, limits)
        if not limit:
            recent.append((now_ms, verification_id))
        if recent:
            self._sent[(account, to)] = recent
        else:
            self._sent.pop((account, to), None)
        return limits.refusal(limit, wait_ms) if limit else None

    async def release(self, account: str, to: str, verification_id: str) -> None:
        recent = self._sent.get((account, to), [])
        recent[:] = [(at, member) for at, member in recent if member != verification_id]


_RESERVE = LuaScript.from_package("engine.verify", "reserve_send")


class RedisSendLimiter:
    """``{namespace}:verify:sends:<account>:<number>``, a sorted set of the
    verification ids sent lately scored by time; it expires with the window."""

    def __init__(self, redis: RedisClient, namespace: str, limits: SendLimits) -> None:
        self._redis = redis
        self._namespace = namespace
        self._limits = limits

    def _key(self, account: str, to: str) -> str:
        return f"{self._namespace}:verify:sends:{account}:{to}"

    async def reserve(
        self, account: str, to: str, verification_id: str, now_ms: int
    ) -> Limited | None:
        limits = self._limits
        args = [now_ms, limits.window_ms, limits.per_window, limits.interval_ms, verification_id]
        limit, wait_ms = await _RESERVE(self._redis, [self._key(account, to)], args)
        if not limit:
            return None
        name = limit.decode() if isinstance(limit, bytes) else limit
        return limits.refusal(name, int(wait_ms))

    async def release(self, account: str, to: str, verification_id: str) -> None:
        await self._redis.zrem(self._key(account, to), verification_id)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
