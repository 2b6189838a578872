"""The connector scheduler: strict priority, round-robin across accounts, bounds."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.messages.message import MtMessage, Priority
from engine.operators.scheduler import Scheduler, SchedulerFull

_ids = itertools.count()


def mt(account: str, priority: Priority = Priority.NORMAL) -> MtMessage:
    return MtMessage(
        id=f"m{next(_ids)}",
        account=account,
        priority=priority,
        source_addr="BANK",
        destination_addr="447900000000",
        user_data=b"hi",
    )


def test_strict_priority_beats_arrival_order() -> None:
    scheduler = Scheduler()
    bulk, normal, express, otp = (mt("a", priority) for priority in reversed(Priority))
    for message in (bulk, normal, express, otp):
        scheduler.push(message)
    assert scheduler.drain() == [otp, express, normal, bulk]


def test_a_campaign_does_not_delay_another_accounts_messages() -> None:
    scheduler = Scheduler()
    campaign = [mt("big") for _ in range(10_000)]
    for message in campaign:
        scheduler.push(message)
    normal, otp = mt("small"), mt("small", Priority.OTP)
    scheduler.push(normal)
    scheduler.push(otp)
    assert scheduler.pop() == otp
    assert normal in (scheduler.pop(), scheduler.pop())


def test_accounts_take_turns_and_keep_their_order() -> None:
    scheduler = Scheduler()
    a = [mt("a") for _ in range(3)]
    b = [mt("b") for _ in range(2)]
    for message in (*a, *b):
        scheduler.push(message)
    assert scheduler.drain() == [a[0], b[0], a[1], b[1], a[2]]


def test_push_front_goes_ahead_of_its_account() -> None:
    scheduler = Scheduler()
    first, second = mt("a"), mt("a")
    scheduler.push(first)
    scheduler.push(second)
    taken = scheduler.pop()
    assert taken is first
    scheduler.push_front(taken)
    assert scheduler.drain() == [first, second]


def test_depth_is_bounded_and_push_front_is_never_refused() -> None:
    scheduler = Scheduler(max_depth=2)
    scheduler.push(mt("a"))
    scheduler.push(mt("b"))
    with pytest.raises(SchedulerFull, match="2 messages"):
        scheduler.push(mt("c"))
    assert len(scheduler) == 2 and "c" not in scheduler.depth_by_account()
    scheduler.push_front(mt("c"))
    assert len(scheduler) == 3


def test_depths_for_metrics() -> None:
    scheduler = Scheduler()
    for account, priority in [("a", Priority.OTP), ("a", Priority.BULK), ("b", Priority.BULK)]:
        scheduler.push(mt(account, priority))
    assert scheduler.depth_by_priority() == {
        Priority.OTP: 1,
        Priority.EXPRESS: 0,
        Priority.NORMAL: 0,
        Priority.BULK: 2,
    }
    assert scheduler.depth_by_account() == {"a": 2, "b": 1}
    scheduler.drain()
    assert scheduler.depth_by_account() == {} and len(scheduler) == 0
    assert scheduler.pop() is None


def test_max_depth_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Scheduler(max_depth=0)


async def test_get_waits_for_a_push() -> None:
    scheduler = Scheduler()
    waiting = asyncio.create_task(scheduler.get())
    await asyncio.sleep(0)  # one loop turn: the getter is now parked
    assert not waiting.done()
    message = mt("a")
    scheduler.push(message)
    assert await waiting is message


async def test_woken_getter_takes_the_most_urgent_message() -> None:
    scheduler = Scheduler()
    waiting = asyncio.create_task(scheduler.get())
    await asyncio.sleep(0)
    bulk, otp = mt("a", Priority.BULK), mt("b", Priority.OTP)
    scheduler.push(bulk)
    scheduler.push(otp)
    assert await waiting is otp
    assert scheduler.drain() == [bulk]


async def test_a_cancelled_getter_passes_its_wake_up_on() -> None:
    scheduler = Scheduler()
    first = asyncio.create_task(scheduler.get())
    second = asyncio.create_task(scheduler.get())
    await asyncio.sleep(0)
    message = mt("a")
    scheduler.push(message)  # wakes ``first``...
    first.cancel()  # ...which goes away before it runs
    assert await second is message
    assert first.cancelled()


async def test_a_cancelled_getter_leaves_no_waiter_behind() -> None:
    scheduler = Scheduler()
    waiting = asyncio.create_task(scheduler.get())
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.wait((waiting,))
    scheduler.push(mt("a"))
    assert len(scheduler) == 1 and not scheduler._waiters


# -- the invariants, under any interleaving ---------------------------------

ACCOUNTS = ["a", "b", "c", "d", "e"]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.sampled_from(ACCOUNTS), st.sampled_from(list(Priority))),
        st.just(("pop",)),
        st.just(("push_front",)),
    ),
    max_size=120,
)


class Fairness:
    """Per class: which accounts were served while each active account waited."""

    def __init__(self) -> None:
        self.served_while_waiting: dict[tuple[Priority, str], set[str]] = {}

    def activated(self, priority: Priority, account: str) -> None:
        self.served_while_waiting.setdefault((priority, account), set())

    def served(self, priority: Priority, account: str, still_active: bool) -> None:
        for (waiting_priority, waiting), served in self.served_while_waiting.items():
            if waiting_priority is priority and waiting != account:
                assert account not in served, f"{account} served twice while {waiting} waited"
                served.add(account)
        if still_active:
            self.served_while_waiting[priority, account] = set()
        else:
            del self.served_while_waiting[priority, account]


@settings(max_examples=200, deadline=None)
@given(operations, st.integers(min_value=1, max_value=30))
def test_priority_fifo_and_round_robin_hold(ops: list[tuple], max_depth: int) -> None:
    scheduler = Scheduler(max_depth)
    model: dict[tuple[Priority, str], deque[MtMessage]] = {}
    fairness = Fairness()
    taken: list[MtMessage] = []

    def add(message: MtMessage, front: bool) -> None:
        queue = model.setdefault((message.priority, message.account), deque())
        if not queue:
            fairness.activated(message.priority, message.account)
        queue.appendleft(message) if front else queue.append(message)

    for op in ops:
        if op[0] == "push":
            message = mt(op[1], op[2])
            if len(scheduler) >= max_depth:
                with pytest.raises(SchedulerFull):
                    scheduler.push(message)
                continue
            scheduler.push(message)
            add(message, front=False)
        elif op[0] == "push_front" and taken:
            message = taken.pop()
            scheduler.push_front(message)
            add(message, front=True)
        elif op[0] == "pop":
            message = scheduler.pop()
            waiting = [key for key, queue in model.items() if queue]
            if not waiting:
                assert message is None
                continue
            assert message is not None
            assert message.priority == min(priority for priority, _ in waiting)
            queue = model[message.priority, message.account]
            assert queue.popleft() is message  # FIFO per account and class
            fairness.served(message.priority, message.account, still_active=bool(queue))
            taken.append(message)
        total = sum(len(queue) for queue in model.values())
        assert len(scheduler) == total
        by_priority = scheduler.depth_by_priority()
        assert all(
            by_priority[priority] == sum(len(q) for (p, _), q in model.items() if p is priority)
            for priority in Priority
        )
    remaining = scheduler.drain()
    assert len(remaining) == sum(len(queue) for queue in model.values())


def test_remove_takes_one_queued_message_out() -> None:
    scheduler = Scheduler(10)
    first, second = mt("a", Priority.BULK), mt("a", Priority.BULK)
    scheduler.push(first)
    scheduler.push(second)
    assert scheduler.remove("a", first.id) == first
    assert scheduler.remove("a", first.id) is None
    assert scheduler.remove("b", second.id) is None
    assert len(scheduler) == 1 and scheduler.depth_by_account() == {"a": 1}
    assert scheduler.remove("a", second.id) == second
    assert len(scheduler) == 0 and scheduler.pop() is None
