"""deliver_sm for an account with no receiving bind on this shard, parked in
Redis so whichever shard holds such a bind sends it (DESIGN: "on any shard,
held until one exists, within the validity period").

One Redis list per account, ``{namespace}:parked:{account}``: a shard parks
with RPUSH (batched per loop iteration) and claims with LPOP count, oldest
first. A shard claims when an account binds to it and then every poll
interval for the accounts bound to it, so a receipt parked by another shard
waits at most one interval. Entries past their deadline are dropped when claimed.
The list is capped per account (LTRIM keeps the newest) and expires when idle.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import msgspec
from redis.asyncio import Redis

from engine.loop.batching import BackgroundTasks, TickBatcher
from smpp import decode, encode
from smpp import pdu as p


class _Parked(msgspec.Struct, frozen=True, array_like=True):
    deadline: float
    pdu: bytes


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Parked).decode

CLAIM_BATCH = 500
"""deliver_sm taken per account per claim: a backlog drains over several polls
rather than flooding one bind's window at once."""


class RedisParking:
    def __init__(
        self,
        redis: Redis,
        namespace: str,
        *,
        max_per_account: int,
        idle_ttl: int,
    ) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:parked:"
        self.max_per_account = max_per_account
        self.idle_ttl = idle_ttl
        self._tasks = BackgroundTasks()
        self._writes: TickBatcher[tuple[str, bytes]] = TickBatcher(self._write, self._tasks)

    def park(self, account: str, deadline: float, deliver: p.DeliverSm) -> None:
        self._writes.add((account, _encode(_Parked(deadline, encode(deliver)))))

    async def _write(self, batch: list[tuple[str, bytes]]) -> None:
        by_account: dict[str, list[bytes]] = {}
        for account, entry in batch:
            by_account.setdefault(account, []).append(entry)
        async with self._redis.pipeline(transaction=False) as pipe:
            for account, entries in by_account.items():
                key = self._prefix + account
                pipe.rpush(key, *entries)
                pipe.ltrim(key, -self.max_per_account, -1)
                pipe.expire(key, self.idle_ttl)
            await pipe.execute()

    async def drain(self) -> None:
        """Wait for the parking writes already started."""
        await self._tasks.drain()

    async def claim(self, accounts: Iterable[str]) -> list[tuple[str, float, p.DeliverSm]]:
        """What waits for ``accounts`` (one round trip), unexpired, oldest first."""
        names = list(accounts)
        if not names:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for account in names:
                pipe.lpop(self._prefix + account, CLAIM_BATCH)
            answers: Sequence[list[bytes] | None] = await pipe.execute()
        now = time.time()
        claimed = []
        for account, entries in zip(names, answers, strict=True):
            for raw in entries or ():
                parked = _decode(raw)
                if parked.deadline > now:
                    deliver = decode(parked.pdu)
                    assert isinstance(deliver, p.DeliverSm)
                    claimed.append((account, parked.deadline, deliver))
        return claimed
