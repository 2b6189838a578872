"""Random accept/capture/release/adjust sequences through both backends in lockstep.

After every step the twin and Redis must agree on every result, balance, hold,
event and outbox entry, and no account may ever have `balance - held` below
`-credit_limit`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from redis.asyncio import Redis

from ledger.config import LedgerConfig
from ledger.events import LedgerEvent
from ledger.memory import MemoryLedger
from ledger.model import AcceptOutcome, AcceptRequest, AccountLimits, OutboxRef, QuotaPeriod
from ledger.protocol import Ledger
from ledger.redis_ledger import RedisLedger
from tests.ledger.helpers import FakeClock, redis_events, without_position
from tests.services import REDIS_URL, delete_namespace, random_namespace

T = TypeVar("T")
TEN_YEARS = (
    10 * 365 * 86_400
)  # TTLs the test clock can never reach (Redis expires on its own clock)


class LedgerMachine(RuleBasedStateMachine):
    accounts = Bundle("accounts")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.namespace = random_namespace()
        self.redis = Redis.from_url(REDIS_URL)
        config = LedgerConfig(
            namespace=self.namespace,
            buckets=4,
            idempotency_ttl=TEN_YEARS,
            settled_hold_ttl=TEN_YEARS,
        )
        self.twin = MemoryLedger(config, shard="s1", clock=self.clock)
        self.real = RedisLedger(self.redis, config, shard="s1", clock=self.clock)
        self.run(self.real.start())
        self.credit_limits: dict[str, int] = {}
        self.holds: list[tuple[str, str]] = []  # (message id, account) ever accepted
        # (message id, account) -> (twin id, redis id); a message id is unique per bucket only
        self.outbox_ids: dict[tuple[str, str], tuple[str, str]] = {}
        self.barred: list[tuple[str, str]] = []  # ids voided before any accept
        self.next_id = 0

    def run(self, coroutine: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def both(self, call: Callable[[Ledger], Awaitable[T]]) -> tuple[T, T]:
        return self.run(call(self.twin)), self.run(call(self.real))

    def teardown(self) -> None:
        self.run(delete_namespace(self.redis, self.namespace))
        self.run(self.real.aclose())
        self.run(self.redis.aclose())
        self.loop.close()

    @rule(
        target=accounts,
        name=st.sampled_from(["acme", "globex", "initech", "umbrella", "hooli"]),
        enabled=st.booleans(),
        credit_limit=st.sampled_from([0, 10, 25, 50]),
        throughput=st.integers(0, 4),
        quota=st.integers(0, 12),
        period=st.sampled_from(QuotaPeriod),
    )
    def set_account(
        self,
        name: str,
        enabled: bool,
        credit_limit: int,
        throughput: int,
        quota: int,
        period: QuotaPeriod,
    ) -> str:
        credit_limit = self.credit_limits.setdefault(name, credit_limit)  # fixed once set
        limits = AccountLimits(
            enabled=enabled,
            credit_limit=credit_limit,
            throughput=throughput,
            quota=quota,
            quota_period=period,
        )
        twin, real = self.both(lambda ledger: ledger.set_account(name, limits))
        assert twin == real
        return name

    @rule(
        account=accounts,
        amount=st.sampled_from([-50, -20, -10, -5, 5, 10, 20, 50, 100, 200]),
        reference=st.sampled_from(["tx1", "tx2", "tx3", "tx4", "tx5", "tx6"]),
    )
    def adjust(self, account: str, amount: int, reference: str) -> None:
        twin, real = self.both(
            lambda ledger: ledger.adjust(account, amount, reason="test", reference=reference)
        )
        assert twin == real

    @rule(
        batch=st.lists(
            st.tuples(
                st.one_of(accounts, st.just("nobody")),
                st.integers(1, 3),
                st.integers(0, 10),
                st.sampled_from([None, "k1", "k2"]),
                st.booleans(),
            ),
            min_size=1,
            max_size=6,
        )
    )
    def accept(self, batch: list[tuple[str, int, int, str | None, bool]]) -> None:
        requests = []
        for account, parts, price, key, reuse in batch:
            used = self.holds + self.barred
            message_id = f"m{self.next_id}"
            if reuse and used:
                message_id = used[self.next_id % len(used)][0]
            self.next_id += 1
            requests.append(
                AcceptRequest(
                    message_id=message_id,
                    account=account,
                    parts=parts,
                    price=price,
                    payload=message_id.encode(),
                    idempotency_key=key,
                )
            )
        twin, real = self.both(lambda ledger: ledger.accept_many(requests))
        for request, mine, theirs in zip(requests, twin, real, strict=True):
            assert (mine.outcome, mine.original_message_id) == (
                theirs.outcome,
                theirs.original_message_id,
            )
            if mine.outcome is AcceptOutcome.OK:
                assert mine.outbox_id and theirs.outbox_id
                self.holds.append((request.message_id, request.account))
                key = (request.message_id, request.account)
                self.outbox_ids[key] = (mine.outbox_id, theirs.outbox_id)

    @rule(data=st.data())
    def capture(self, data: st.DataObject) -> None:
        if self.holds:
            message_id, account = data.draw(st.sampled_from(self.holds))
            amount = data.draw(st.integers(0, 35))
            twin_id, real_id = self.outbox_ids[message_id, account]
            if not data.draw(st.booleans()):  # acknowledged in the same step, or not
                twin_id = real_id = ""
            twin = self.run(self.twin.capture(message_id, account, amount, outbox_id=twin_id))
            real = self.run(self.real.capture(message_id, account, amount, outbox_id=real_id))
            assert twin == real

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        if self.holds:
            message_id, account = data.draw(st.sampled_from(self.holds))
            twin, real = self.both(lambda ledger: ledger.release(message_id, account))
            assert twin == real

    @rule(data=st.data())
    def ack_outbox(self, data: st.DataObject) -> None:
        if self.holds:
            message_id, account = data.draw(st.sampled_from(self.holds))
            twin_id, real_id = self.outbox_ids[message_id, account]
            twin = self.run(self.twin.ack_outbox([OutboxRef(account, twin_id)]))
            real = self.run(self.real.ack_outbox([OutboxRef(account, real_id)]))
            assert twin == real

    @rule(
        data=st.data(),
        fresh=st.tuples(st.one_of(accounts, st.just("nobody")), st.integers(0, 2)),
        key=st.sampled_from([None, "k1", "k2"]),
    )
    def void_accepts(self, data: st.DataObject, fresh: tuple[str, int], key: str | None) -> None:
        """Voids some accepted messages and some ids no accept has used yet."""
        chosen = data.draw(st.lists(st.sampled_from(self.holds), max_size=3)) if self.holds else []
        account, count = fresh
        for _ in range(count):
            chosen.append((f"m{self.next_id}", account))
            self.barred.append(chosen[-1])  # accept may reuse it: a duplicate then
            self.next_id += 1
        requests = [
            AcceptRequest(
                message_id=message_id, account=account, parts=1, price=0, idempotency_key=key
            )
            for message_id, account in chosen
        ]
        twin, real = self.both(lambda ledger: ledger.void_accepts(requests))
        assert twin == real

    @rule(seconds=st.sampled_from([0.3, 1, 59, 3_600, 86_400, 31 * 86_400]))
    def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def backends_agree_and_never_overspend(self) -> None:
        for account, credit_limit in self.credit_limits.items():
            twin, real = self.both(lambda ledger, a=account: ledger.get_account(a))
            assert twin == real
            assert twin is not None and twin.balance - twin.held >= -credit_limit
        real_events = self.run(redis_events(self.redis, self.real))
        for account in self.credit_limits:
            mine = [e for e in self.twin.events if e.account == account]
            theirs = [e for e in real_events if e.account == account]
            assert without_position(mine) == without_position(theirs)  # type: ignore[arg-type]
            money = [e for e in mine if isinstance(e, LedgerEvent)]
            if money:
                assert money[-1].balance == sum(e.balance_delta for e in money)

    @invariant()
    def outboxes_agree(self) -> None:
        async def queued(ledger: Ledger) -> list[tuple[str, bytes]]:
            return sorted([(e.message_id, e.payload) async for e in ledger.read_outbox()])

        twin, real = self.both(queued)
        assert twin == real


LedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase
