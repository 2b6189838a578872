"""deliver_sm for an account with no receiving bind on this shard, parked in
Redis so whichever shard holds such a bind sends it (DESIGN: "on any shard,
held until one exists, within the validity period").

One Redis list per account, ``{ns}:{bN}:parked:<account>``, in the account's
ledger bucket (``ledger.layout``) so that one Lua call can move entries
between it and a shard's store of the same account
(`engine.customers.redis_pending`). A shard parks with RPUSH, in the round
trip that stores its other deliveries, and claims the oldest entries into its
own store when the account binds to it and then every poll interval, so a
receipt parked by another shard waits at most one interval. The list is
capped per account (LTRIM keeps the newest; what it drops is counted and
reported, never silent) and expires when idle. An entry is msgpack
``[deadline, pdu]``, the same bytes in the list and in a shard's store.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from redis.asyncio.client import Pipeline

from ledger.layout import LedgerKeys
from ledger.redis_client import RedisClient
from smpp import decode, encode
from smpp import pdu as p


class _Parked(msgspec.Struct, frozen=True, array_like=True):
    deadline: float
    pdu: bytes


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Parked).decode


def pack(deadline: float, deliver: p.DeliverSm) -> bytes:
    return _encode(_Parked(deadline, encode(deliver)))


def unpack(raw: bytes) -> tuple[float, p.DeliverSm]:
    parked = _decode(raw)
    deliver = decode(parked.pdu)
    assert isinstance(deliver, p.DeliverSm)
    return parked.deadline, deliver


class RedisParking:
    """The parked lists: their keys, their cap, and the commands that fill them."""

    def __init__(
        self,
        redis: RedisClient,
        namespace: str,
        *,
        max_per_account: int,
        idle_ttl: int,
        buckets: int = 64,
    ) -> None:
        """``buckets``: the ledger's bucket count (`LedgerConfig.buckets`), so
        parked lists share the slot of their account's other keys."""
        self.redis = redis
        self.keys = LedgerKeys(namespace, buckets)
        self.max_per_account = max_per_account
        self.idle_ttl = idle_ttl

    def prefix(self, account: str) -> str:
        """The hash-tagged start of the keys of ``account``'s bucket."""
        return self.keys.prefix(self.keys.bucket_of(account))

    def key(self, account: str) -> str:
        return f"{self.prefix(account)}parked:{account}"

    def push(self, pipe: Pipeline, account: str, entries: Sequence[bytes]) -> None:
        """Queue on ``pipe`` three commands; the first answers the list's new
        length, which `dropped` turns into the entries the cap cut off."""
        key = self.key(account)
        pipe.rpush(key, *entries)
        pipe.ltrim(key, -self.max_per_account, -1)
        pipe.expire(key, self.idle_ttl)

    def dropped(self, length: int) -> int:
        return max(0, length - self.max_per_account)

    async def waiting(self, accounts: Sequence[str]) -> list[str]:
        """Which of ``accounts`` have something parked (one round trip)."""
        if not accounts:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for account in accounts:
                pipe.llen(self.key(account))
            lengths: list[int] = await pipe.execute()
        return [account for account, n in zip(accounts, lengths, strict=True) if n]
