"""What only the Redis backend has: scripts by SHA, batching, key layout, the server clock."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from redis.asyncio import Redis

from ledger.config import LedgerConfig
from ledger.events import EventKind, MessageEvent, MessageState, Position, decode_events
from ledger.model import AcceptOutcome, AcceptRequest, AccountLimits
from ledger.redis_ledger import BucketCountMismatch, RedisLedger
from ledger.scripts import LuaScript
from tests.services import REDIS_URL


class CountingRedis(Redis):
    """The real client, counting the script calls it makes."""

    script_calls = 0

    async def evalsha(self, *args: Any) -> Any:  # type: ignore[override]
        self.script_calls += 1
        return await super().evalsha(*args)


def message(message_id: str, account: str = "acme", **extra: Any) -> AcceptRequest:
    return AcceptRequest(message_id=message_id, account=account, parts=1, price=1, **extra)


async def test_start_refuses_a_different_bucket_count(redis_client: Redis, namespace: str) -> None:
    await RedisLedger(redis_client, LedgerConfig(namespace=namespace, buckets=64)).start()
    with pytest.raises(BucketCountMismatch, match="64 buckets"):
        await RedisLedger(redis_client, LedgerConfig(namespace=namespace, buckets=32)).start()


def test_a_client_that_decodes_responses_is_refused() -> None:
    with pytest.raises(ValueError, match="decode_responses"):
        RedisLedger(Redis.from_url(REDIS_URL, decode_responses=True))


async def test_a_script_unknown_to_redis_is_loaded_and_run(redis_client: Redis) -> None:
    nonce = secrets.token_hex(8)  # a script Redis has never seen, as after a restart
    script = LuaScript("echo", f"#!lua\nreturn ARGV[1] .. '{nonce}'")
    assert await redis_client.script_exists(script.sha) == [False]
    assert await script(redis_client, (), ("x",)) == f"x{nonce}".encode()
    assert await redis_client.script_exists(script.sha) == [True]


async def test_concurrent_callers_are_coalesced_per_bucket(namespace: str) -> None:
    redis = CountingRedis.from_url(REDIS_URL)
    ledger = RedisLedger(redis, LedgerConfig(namespace=namespace, buckets=4))
    await ledger.start()
    accounts = [f"acct{n}" for n in range(8)]
    for account in accounts:
        await ledger.set_account(account, AccountLimits())
        await ledger.adjust(account, 1_000, reason="top-up", reference="fund")
    buckets = {ledger.keys.bucket_of(account) for account in accounts}
    redis.script_calls = 0
    requests = [message(f"m{n}", accounts[n % 8]) for n in range(400)]
    results = await ledger.accept_many(requests)
    assert all(result.outcome is AcceptOutcome.OK for result in results)
    assert redis.script_calls == len(buckets)
    await ledger.aclose()
    await redis.aclose()


async def test_every_key_carries_its_bucket_hash_tag(redis_client: Redis, namespace: str) -> None:
    ledger = RedisLedger(redis_client, LedgerConfig(namespace=namespace), shard="s9")
    await ledger.start()
    accounts = ["acme", "globex", "initech"]
    for account in accounts:
        await ledger.set_account(account, AccountLimits())
        await ledger.adjust(account, 100, reason="top-up", reference="fund")
        await ledger.accept(message(f"{account}-1", account, idempotency_key="k"))
    keys = [key.decode() async for key in redis_client.scan_iter(match=f"{namespace}:*")]
    tagged = re.compile(rf"{re.escape(namespace)}:\{{b(\d+)\}}:(.*)")
    for key in keys:
        if key == ledger.keys.meta():
            continue
        match = tagged.fullmatch(key)
        assert match, key
        owner = next((a for a in accounts if a in match[2]), None)
        if owner is not None:
            assert int(match[1]) == ledger.keys.bucket_of(owner), key
    assert len(keys) >= 3 * 5  # account, refs, hold, idempotency key, outbox/events per bucket


async def test_without_a_clock_one_batch_sees_one_server_second(
    redis_client: Redis, namespace: str
) -> None:
    ledger = RedisLedger(redis_client, LedgerConfig(namespace=namespace))
    await ledger.start()
    await ledger.set_account("acme", AccountLimits(throughput=2))
    await ledger.adjust("acme", 100, reason="top-up", reference="fund")
    results = await ledger.accept_many([message(f"m{n}") for n in range(3)])
    assert [r.outcome for r in results] == [AcceptOutcome.OK] * 2 + [AcceptOutcome.THROTTLED]


async def test_a_calls_money_events_are_one_entry_each_event_at_a_place_of_its_own(
    redis_client: Redis, namespace: str
) -> None:
    """accept_many packs its holds in one stream entry; each hold still has its own
    stream id (the entry's and the ones after it, which no later entry takes), and
    each account's last_event names its own latest hold."""
    ledger = RedisLedger(redis_client, LedgerConfig(namespace=namespace, buckets=1))
    await ledger.start()
    for account in ("acme", "bolt"):
        await ledger.set_account(account, AccountLimits())
        await ledger.adjust(account, 100, reason="top-up", reference="fund")
    stream = ledger.keys.events(0)
    before = await redis_client.xlen(stream)
    requests = [message(f"m{n}", "acme" if n % 3 else "bolt") for n in range(5)]
    await ledger.accept_many(requests)
    assert await redis_client.xlen(stream) == before + 1
    [(entry_id, fields)] = await redis_client.xrevrange(stream, count=1)
    holds = decode_events(0, entry_id.decode(), fields)
    assert [(e.kind, e.message_id) for e in holds] == [
        (EventKind.HOLD, r.message_id) for r in requests
    ]
    ms, seq = (int(part) for part in entry_id.decode().split("-"))
    assert [e.position for e in holds] == [Position(0, ms, seq + i) for i in range(5)]
    for account in ("acme", "bolt"):
        last = [e for e in holds if e.account == account][-1]
        stored = await redis_client.hget(ledger.keys.account(account), "last_event")
        assert stored.decode() == f"{ms}-{last.position.seq}"
    await ledger.append_message_events(
        [MessageEvent(message_id="m0", account="bolt", state=MessageState.SUBMITTED, ts_ms=1)]
    )
    [(later, _)] = await redis_client.xrevrange(stream, count=1)
    assert Position.parse(0, later.decode()) > holds[-1].position


async def test_an_account_without_window_fields_is_settled_and_adjusted(
    redis_client: Redis, namespace: str
) -> None:
    """An account hash written before throughput windows and quotas existed has
    none of their fields: settling or adjusting it writes its money, not them."""
    ledger = RedisLedger(redis_client, LedgerConfig(namespace=namespace, buckets=1))
    await ledger.start()
    await ledger.set_account("acme", AccountLimits())
    await ledger.adjust("acme", 100, reason="top-up", reference="fund")
    [accepted] = await ledger.accept_many([message("m1")])
    assert accepted.outcome is AcceptOutcome.OK
    key = ledger.keys.account("acme")
    await redis_client.hdel(key, "window_second", "window_used", "quota_window", "quota_used")
    await ledger.capture("m1", "acme", 1)
    await ledger.adjust("acme", 5, reason="bonus", reference="b-1")
    state = await ledger.get_account("acme")
    assert state is not None and (state.balance, state.held) == (104, 0)
    assert not await redis_client.hexists(key, "quota_used")
