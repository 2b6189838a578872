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
one script call per bucket that writes the round's message events to the
bucket's event stream (the ledger's, `ledger.layout.LedgerKeys.events`: this
store is built on the ledger's namespace and bucket count) and stores and
removes deliveries (`lua/store_pending.lua`: every receipt and MO passes there
twice), then, when there are any, one pipeline of parks and reads, then the
Lua calls that move entries between a stream and a parked list (claims and
handovers: when binds come and go, not per delivery). Both keys expire when
idle for the longest validity, so forgotten entries cannot outlive their
deadline by much.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from importlib import resources
from typing import Any

from engine.customers.pending import Batch, Delivery, Entry, Outcome
from engine.shard.parking import RedisParking, pack, unpack
from ledger.events import MessageEvent, message_events_body
from ledger.redis_client import as_text
from ledger.scripts import LuaScript, lua_prelude

_STORE = LuaScript(
    "store_pending",
    "#!lua\n"  # refused up front when Redis is out of memory; keys checked to share a slot
    + lua_prelude()  # the stream's fields and `append_message_events`, as the ledger has
    + resources.files("engine.customers").joinpath("lua", "store_pending.lua").read_text(),
)
_CLAIM = LuaScript.from_package("engine.customers", "claim_parked")
_PARK = LuaScript.from_package("engine.customers", "park_stored")

MOVE_BATCH = 1_000
"""Entries one handover call moves: a long backlog moves over several rounds
rather than blocking Redis for one long script."""
_FIELD = b"d"

_Work = tuple[list[int], list[bytes], list[str]]
"""An account's part of a call: indexes in `Batch.stored`, entries to add, ids to delete."""


class _Call:
    """What one script call does in one bucket."""

    __slots__ = ("accounts", "events")

    def __init__(self) -> None:
        self.events: list[MessageEvent] = []
        """Message events for the bucket's stream, written as one entry."""
        self.accounts: dict[str, _Work] = {}


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
        """Events, stores and removals, one script call per bucket; the new
        ids come back in the order of ``batch.stored``."""
        calls: dict[int, _Call] = {}
        bucket_of = self.parking.keys.bucket_of
        for event in batch.events:
            bucket = bucket_of(event.account)
            call = calls.get(bucket) or calls.setdefault(bucket, _Call())
            call.events.append(event)
        of_account: dict[str, _Work] = {}
        for index, item in enumerate(batch.stored):
            account = item.account
            work = of_account.get(account) or self._work(calls, of_account, account)
            work[0].append(index)
            work[1].append(pack(item.deadline, item.deliver))
        for account, entry_id in batch.removed:
            work = of_account.get(account) or self._work(calls, of_account, account)
            work[2].append(entry_id)
        if not calls:
            return
        pending = [self._call(bucket, call) for bucket, call in calls.items()]
        answers = [await pending[0]] if len(pending) == 1 else await asyncio.gather(*pending)
        ids: list[str] = [""] * len(batch.stored)
        for call, new_ids in zip(calls.values(), answers, strict=True):
            indexes = [i for stored, _, _ in call.accounts.values() for i in stored]
            for index, raw in zip(indexes, new_ids, strict=True):
                ids[index] = as_text(raw)
        outcome.ids = ids

    def _work(self, calls: dict[int, _Call], of_account: dict[str, _Work], account: str) -> _Work:
        """A new account's (indexes, entries to add, ids to delete), in its bucket's call."""
        work: _Work = ([], [], [])
        bucket = self.parking.keys.bucket_of(account)
        (calls.get(bucket) or calls.setdefault(bucket, _Call())).accounts[account] = work
        of_account[account] = work
        return work

    def _call(self, bucket: int, call: _Call) -> Awaitable[list[bytes]]:
        keys = self.parking.keys
        names = [f"{keys.prefix(bucket)}pending:{self.shard}", keys.events(bucket)]
        body = message_events_body(call.events) if call.events else b""
        args: list[Any] = [self._ttl, body]
        for account, (_, entries, removed) in call.accounts.items():
            names.append(self.stream(account))
            args += [account, len(entries), len(removed), *entries, *removed]
        return _STORE(self._redis, names, args)

    async def _claim(self, account: str, count: int, outcome: Outcome) -> None:
        keys = [self.parking.key(account), self.stream(account), self.index(account)]
        flat = await _CLAIM(self._redis, keys, [count, account, self._ttl])
        outcome.claimed[account] = [
            Entry(as_text(flat[i]), *unpack(flat[i + 1])) for i in range(0, len(flat), 2)
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
        for account in sorted(as_text(raw) for accounts in members for raw in accounts):
            outcome = Outcome()
            while outcome.left.get(account, 1):
                moved += await self._hand_over(account, shard, outcome)
        return moved


def _by_account(items: Iterable[Delivery]) -> dict[str, list[bytes]]:
    grouped: dict[str, list[bytes]] = {}
    for item in items:
        grouped.setdefault(item.account, []).append(pack(item.deadline, item.deliver))
    return grouped


def _entry(entry_id: bytes | str, values: dict[bytes, bytes]) -> Entry:
    return Entry(as_text(entry_id), *unpack(values[_FIELD]))
