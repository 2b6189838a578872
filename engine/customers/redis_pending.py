"""Deliveries waiting for a customer, kept in Redis until the customer answers
them, so a kill -9 loses none (the contract: `engine.customers.pending`).

Keys, in the account's ledger bucket (``{ns}:{bN}:``, as its parked list):

- ``pending:<shard>:<account>``: a stream, one entry per delivery this shard
  took on for the account (field ``d``: msgpack ``[deadline, pdu]``, the
  parked list's bytes); XDEL once answered, expired or parked.
- ``pending:<shard>``: the set of the bucket's accounts that have such a
  stream, so a restarted shard, or a peer adopting a dead one, finds them
  by reading one set per bucket.

Every Lua call touches the keys of one bucket: one Cluster slot. A round is
one script call per bucket that stores and removes (`lua/store_pending.lua`:
every receipt and MO passes there twice), then, when there are any, one
pipeline of parks and reads, then the Lua calls that move entries between a
stream and a parked list (claims and handovers: when binds come and go, not
per delivery). Both keys expire when idle for
the longest validity, so forgotten entries cannot outlive their deadline by much.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from engine.customers.pending import Batch, Delivery, Entry, Outcome
from engine.shard.parking import RedisParking, pack, unpack
from ledger.scripts import LuaScript

_STORE = LuaScript.from_package("engine.customers", "store_pending")
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
        await self._store(batch, outcome)
        parked = _by_account(batch.parked)
        if parked or batch.loads:
            async with self._redis.pipeline(transaction=False) as pipe:
                for account, entries in parked.items():
                    self.parking.push(pipe, account, entries)
                for account, (after, count) in batch.loads.items():
                    pipe.xrange(self.stream(account), f"({after}" if after else "-", "+", count)
                answers: list[Any] = await pipe.execute()
            at = 0
            for account in parked:
                outcome.dropped[account] += self.parking.dropped(answers[at])
                at += 3
            for account, read in zip(batch.loads, answers[at:], strict=True):
                outcome.loaded[account] = [_entry(entry_id, values) for entry_id, values in read]
        await asyncio.gather(
            *(self._hand_over(account, None, outcome) for account in batch.handovers),
            *(self._claim(account, count, outcome) for account, count in batch.claims.items()),
        )
        return outcome

    async def _store(self, batch: Batch, outcome: Outcome) -> None:
        """Stores and removals, one script call per bucket; the new ids come
        back in the order of ``batch.stored``."""
        buckets: dict[str, dict[str, tuple[list[int], list[bytes], list[str]]]] = {}
        of_account: dict[str, tuple[list[int], list[bytes], list[str]]] = {}
        for index, (account, deliver, deadline, _) in enumerate(batch.stored):
            wanted = of_account.get(account) or self._wanted(buckets, of_account, account)
            wanted[0].append(index)
            wanted[1].append(pack(deadline, deliver))
        for account, entry_id in batch.removed:
            wanted = of_account.get(account) or self._wanted(buckets, of_account, account)
            wanted[2].append(entry_id)
        if not buckets:
            return
        calls = []
        for accounts in buckets.values():
            keys = [self.index(next(iter(accounts)))]
            args: list[Any] = [self._ttl]
            for account, (_, entries, removed) in accounts.items():
                keys.append(self.stream(account))
                args += [account, len(entries), len(removed), *entries, *removed]
            calls.append(_STORE(self._redis, keys, args))
        ids: list[str] = [""] * len(batch.stored)
        for accounts, new_ids in zip(buckets.values(), await asyncio.gather(*calls), strict=True):
            indexes = [i for stored, _, _ in accounts.values() for i in stored]
            for index, raw in zip(indexes, new_ids, strict=True):
                ids[index] = _text(raw)
        outcome.ids = ids

    def _wanted(
        self,
        buckets: dict[str, dict[str, tuple[list[int], list[bytes], list[str]]]],
        of_account: dict[str, tuple[list[int], list[bytes], list[str]]],
        account: str,
    ) -> tuple[list[int], list[bytes], list[str]]:
        """A new account's (indexes, entries to add, ids to delete), in its bucket."""
        wanted: tuple[list[int], list[bytes], list[str]] = ([], [], [])
        buckets.setdefault(self.parking.prefix(account), {})[account] = wanted
        of_account[account] = wanted
        return wanted

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
