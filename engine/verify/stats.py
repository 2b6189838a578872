"""How an account's verifications end, day by day (the portal's Verify page).

Each verification is counted on the day (UTC) it was created: ``created``
when its SMS left, ``approved`` when a right code came, ``failed`` when its
attempts ran out. The rest expired unchecked, or are still pending (today
only: a code lives at most an hour). Counting by creation day makes each
day's conversion rate exact, whenever its codes were checked.

Production keeps the counts in Redis, one hash per account (fields
``<YYYYMMDD>:<outcome>``), so every shard adds to the same numbers; the
counts of a day older than `KEEP_DAYS` are dropped when a new day's first
code is counted, and an account idle that long loses its hash whole.
Two checks racing on one verification's last attempt may count its failure
twice; the Lua check decides its outcome once, the count is a statistic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

import msgspec

from ledger.redis_client import RedisClient

Outcome = Literal["created", "approved", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("created", "approved", "failed")
KEEP_DAYS = 90
"""Days of counts kept, hence the most a reader may ask for."""
_DAY_MS = 86_400_000
_KEY_TTL = (KEEP_DAYS + 1) * 86_400


class VerifyDay(msgspec.Struct, frozen=True, kw_only=True):
    day: str
    """UTC, YYYY-MM-DD."""
    created: int = 0
    approved: int = 0
    failed: int = 0
    """Attempts used up without the right code."""

    @property
    def expired(self) -> int:
        """Neither approved nor failed: expired (or, today, maybe still pending)."""
        return max(0, self.created - self.approved - self.failed)

    @property
    def conversion(self) -> float | None:
        """Approved of created; None without any created."""
        return self.approved / self.created if self.created else None

    @staticmethod
    def summed(days: list[VerifyDay]) -> VerifyDay:
        """The days (newest first) added up; ``day`` names the span."""
        return VerifyDay(
            day=f"{days[-1].day}..{days[0].day}" if days else "",
            created=sum(d.created for d in days),
            approved=sum(d.approved for d in days),
            failed=sum(d.failed for d in days),
        )


def day_of(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y%m%d")


def last_days(now_ms: int, days: int) -> list[str]:
    """The ``days`` days up to today (YYYYMMDD), newest first; ValueError beyond `KEEP_DAYS`."""
    if not 1 <= days <= KEEP_DAYS:
        raise ValueError(f"days must be in 1..{KEEP_DAYS}")
    today = datetime.fromtimestamp(now_ms / 1000, UTC)
    return [(today - timedelta(days=back)).strftime("%Y%m%d") for back in range(days)]


def _dashed(day: str) -> str:
    return f"{day[:4]}-{day[4:6]}-{day[6:]}"


class VerifyCounts(Protocol):
    async def count(self, account: str, created_ms: int, outcome: Outcome) -> None:
        """One more ``outcome`` for the verification created at ``created_ms``."""
        ...

    async def days(self, account: str, now_ms: int, days: int) -> list[VerifyDay]:
        """The last ``days`` days, newest first, a day without codes as zeros."""
        ...


class MemoryVerifyCounts:
    """One process's counts (`smsgw dev`, tests)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str], int] = {}

    async def count(self, account: str, created_ms: int, outcome: Outcome) -> None:
        key = (account, day_of(created_ms), outcome)
        self._counts[key] = self._counts.get(key, 0) + 1

    async def days(self, account: str, now_ms: int, days: int) -> list[VerifyDay]:
        return [
            VerifyDay(
                day=_dashed(day),
                **{o: self._counts.get((account, day, o), 0) for o in OUTCOMES},
            )
            for day in last_days(now_ms, days)
        ]


class RedisVerifyCounts:
    """Every shard's counts: one hash per account (a single key, so the same
    on a Redis Cluster)."""

    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace

    def key(self, account: str) -> str:
        return f"{self._namespace}:verify:stats:{account}"

    async def count(self, account: str, created_ms: int, outcome: Outcome) -> None:
        key, day = self.key(account), day_of(created_ms)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, f"{day}:{outcome}", 1)
            if outcome == "created":
                dropped = day_of(created_ms - KEEP_DAYS * _DAY_MS)
                pipe.hdel(key, *(f"{dropped}:{o}" for o in OUTCOMES))
            pipe.expire(key, _KEY_TTL)
            await pipe.execute()

    async def days(self, account: str, now_ms: int, days: int) -> list[VerifyDay]:
        wanted = last_days(now_ms, days)
        fields = [f"{day}:{o}" for day in wanted for o in OUTCOMES]
        values = await self._redis.hmget(self.key(account), fields)  # type: ignore[misc]
        counts = [int(value) if value is not None else 0 for value in values]
        width = len(OUTCOMES)
        return [
            VerifyDay(
                day=_dashed(day),
                **dict(zip(OUTCOMES, counts[i * width : (i + 1) * width], strict=True)),
            )
            for i, day in enumerate(wanted)
        ]
