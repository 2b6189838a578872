"""Many concurrent callers on two shards hammering one account never overspend it."""

from __future__ import annotations

import asyncio
import random

from redis.asyncio import Redis

from ledger.config import LedgerConfig
from ledger.events import LedgerEvent
from ledger.model import AcceptOutcome, AcceptRequest, AccountLimits, SettleOutcome
from ledger.redis_ledger import RedisLedger
from tests.ledger.helpers import redis_events
from tests.services import REDIS_URL

BALANCE, CREDIT_LIMIT, PRICE = 10_000, 100, 7
CALLERS = 2_000


async def test_many_tasks_hammering_one_account_never_overspend(namespace: str) -> None:
    clients = [Redis.from_url(REDIS_URL) for _ in range(2)]
    config = LedgerConfig(namespace=namespace, max_batch=16, max_in_flight=8)
    shards = [RedisLedger(client, config, shard=f"s{n}") for n, client in enumerate(clients)]
    for shard in shards:
        await shard.start()
    await shards[0].set_account("acme", AccountLimits(credit_limit=CREDIT_LIMIT))
    await shards[0].adjust("acme", BALANCE, reason="top-up", reference="fund")

    async def send(n: int) -> AcceptOutcome:
        request = AcceptRequest(message_id=f"m{n}", account="acme", parts=1, price=PRICE)
        return (await shards[n % 2].accept(request)).outcome

    outcomes = await asyncio.gather(*[send(n) for n in range(CALLERS)])
    accepted = [f"m{n}" for n, outcome in enumerate(outcomes) if outcome is AcceptOutcome.OK]
    capacity = (BALANCE + CREDIT_LIMIT) // PRICE
    assert len(accepted) == capacity
    assert outcomes.count(AcceptOutcome.NO_CREDIT) == CALLERS - capacity
    state = await shards[1].get_account("acme")
    assert state is not None and state.held == capacity * PRICE
    assert 0 <= state.available < PRICE

    # Settle every message twice at once, from both shards, some by capture, some by release.
    choice = random.Random(4)
    plans = {message_id: choice.choice([PRICE, 3, 0, None]) for message_id in accepted}

    async def settle(shard: RedisLedger, message_id: str) -> tuple[SettleOutcome, int]:
        amount = plans[message_id]
        if amount is None:
            result = await shard.release(message_id, "acme")
        else:
            result = await shard.capture(message_id, "acme", amount)
        return result.outcome, result.captured

    settled = await asyncio.gather(
        *[settle(shard, message_id) for message_id in accepted for shard in shards]
    )
    firsts = [outcome for outcome, _ in settled if outcome is SettleOutcome.OK]
    assert len(firsts) == len(accepted)
    captured = sum(amount or 0 for amount in plans.values())
    state = await shards[0].get_account("acme")
    assert state is not None and (state.balance, state.held) == (BALANCE - captured, 0)

    money = [e for e in await redis_events(clients[0], shards[0]) if isinstance(e, LedgerEvent)]
    assert sum(e.balance_delta for e in money) == state.balance
    assert sum(e.held_delta for e in money) == 0
    for shard, client in zip(shards, clients, strict=True):
        await shard.aclose()
        await client.aclose()
