"""Deliveries waiting for a customer, kept in Redis until the customer answers
them, so a kill -9 loses none (the contract: `engine.customers.pending`).

Keys, in the account's ledger bucket (``{ns}:{bN}:``, as its parked list):

- ``pending:<shard>:<account>``: a stream, one entry per delivery this shard
  took on for the account (field ``d``: msgpack ``[deadline, pdu]``, the
  parked list's bytes); XDEL once answered, expired or parked.
- ``pending:<shard>``: the set of the bucket's accounts that have such a
  stream, so a restarted shard, or a peer adopting a dead one, finds them
  by reading one set per bucket.

Every Lua call touches the keys of one account's bucket: one Cluster slot.
A round is one pipeline (stores, parks, removals, reads), then the Lua calls
that move entries between a stream and a parked list (claims and handovers:
when binds come and go, not per delivery). Both keys expire when idle for
the longest validity, so forgotten entries cannot outlive their deadline by much.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from engine.customers.pending import Batch, Delivery, Entry, Outcome
from engine.shard.parking import RedisParking, pack, unpack
from ledger.scripts import LuaScript

_CLAIM = LuaScript.from_package("engine.customers", "claim_parked")
_PARK = LuaScript.from_package("engine.customers", "park_stored")

MOVE_BATCH = 1_000
"""Entries one handover call moves: a long backlog moves over several rounds
rather than blocking Redis for one long script."""
_FIELD = b"d"


class RedisPending:
    parks = True

    def __init__(self, parking: RedisParking, shard: str) -> None:
        self.parking = parking
        self.shard = shard
        self._redis = parking.redis
        self._ttl = parking.idle_ttl

    def stream(self, account: str, shard: str | None = None) -> str:
        return f"{self.parking.prefix(account)}pending:{shard or self.shard}:{account}"

    def index(self, account: str, shard: str | None = None) -> str:
        return f"{self.parking.prefix(account)}pending:{shard or self.shard}"

    async def run(self, batch: Batch) -> Outcome:
        outcome = Outcome()
        parked = _by_account(batch.parked)
        removed: defaultdict[str, list[str]] = defaultdict(list)
        for account, entry_id in batch.removed:
            removed[account].append(entry_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for account, deliver, deadline, _ in batch.stored:
                pipe.xadd(self.stream(account), {_FIELD: pack(deadline, deliver)})
            stored_accounts = {item.account for item in batch.stored}
            for account in stored_accounts:
                pipe.sadd(self.index(account), account)
                pipe.expire(self.index(account), self._ttl)
                pipe.expire(self.stream(account), self._ttl)
            for account, entries in parked.items():
                self.parking.push(pipe, account, entries)
            for account, ids in removed.items():
                pipe.xdel(self.stream(account), *ids)
            for account, (after, count) in batch.loads.items():
                pipe.xrange(self.stream(account), f"({after}" if after else "-", "+", count)
            answers: list[Any] = await pipe.execute()
        outcome.ids = [_text(raw) for raw in answers[: len(batch.stored)]]
        at = len(batch.stored) + 3 * len(stored_accounts)
        for account in parked:
            outcome.dropped[account] += self.parking.dropped(answers[at])
            at += 3
        at += len(removed)
        for account, read in zip(batch.loads, answers[at:], strict=True):
            outcome.loaded[account] = [_entry(entry_id, values) for entry_id, values in read]
        await asyncio.gather(
            *(self._hand_over(account, None, outcome) for account in batch.handovers),
            *(self._claim(account, count, outcome) for account, count in batch.claims.items()),
        )
        return outcome

    async def _claim(self, account: str, count: int, outcome: Outcome) -> None:
        keys = [self.parking.key(account), self.stream(account), self.index(account)]
        flat = await _CLAIM(self._redis, keys, [count, account, self._ttl])
        outcome.claimed[account] = [
            Entry(_text(flat[i]), *unpack(flat[i + 1])) for i in range(0, len(flat), 2)
        ]

    async def _hand_over(self, account: str, shard: str | None, outcome: Outcome) -> int:
        keys = [self.stream(account, shard), self.parking.key(account), self.index(account, shard)]
        args = [MOVE_BATCH, account, self.parking.max_per_account, self._ttl]
        moved, dropped, left = await _PARK(self._redis, keys, args)
        outcome.dropped[account] += dropped
        outcome.left[account] = left
        return int(moved)

    async def waiting(self, accounts: list[str]) -> list[str]:
        return await self.parking.waiting(accounts)

    async def hand_over_shard(self, shard: str | None) -> int:
        """Read the shard's set in every bucket (one round trip), then park
        each account's stream whole."""
        keys = self.parking.keys
        indexes = [f"{keys.prefix(b)}pending:{shard or self.shard}" for b in range(keys.buckets)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for index in indexes:
                pipe.smembers(index)
            members: list[set[bytes]] = await pipe.execute()
        moved = 0
        for account in sorted(_text(raw) for accounts in members for raw in accounts):
            outcome = Outcome()
            while outcome.left.get(account, 1):
                moved += await self._hand_over(account, shard, outcome)
        return moved


def _by_account(items: Iterable[Delivery]) -> dict[str, list[bytes]]:
    grouped: dict[str, list[bytes]] = {}
    for account, deliver, deadline, _ in items:
        grouped.setdefault(account, []).append(pack(deadline, deliver))
    return grouped


def _entry(entry_id: bytes | str, values: dict[bytes, bytes]) -> Entry:
    return Entry(_text(entry_id), *unpack(values[_FIELD]))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
