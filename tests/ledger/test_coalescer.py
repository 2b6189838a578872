"""BatchCoalescer: one call per key per loop turn, bounded batches and calls in flight."""

from __future__ import annotations

import asyncio

import pytest

from ledger.coalescer import BatchCoalescer


class Doubler:
    """A batch call that doubles each item and records the batches it got."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, key: str, items: list[int]) -> list[int]:
        self.calls.append((key, items))
        if self.gate is not None:
            await self.gate.wait()
        if key == "broken":
            raise ConnectionError("redis went away")
        return [item * 2 for item in items]


async def test_callers_of_one_loop_turn_share_one_call_per_key() -> None:
    doubler = Doubler()
    coalescer = BatchCoalescer(doubler, max_batch=100, max_in_flight=4)
    futures = [coalescer.submit("a" if n % 2 else "b", n) for n in range(10)]
    assert await asyncio.gather(*futures) == [n * 2 for n in range(10)]
    assert sorted(doubler.calls) == [("a", [1, 3, 5, 7, 9]), ("b", [0, 2, 4, 6, 8])]


async def test_batches_are_bounded() -> None:
    doubler = Doubler()
    coalescer = BatchCoalescer(doubler, max_batch=4, max_in_flight=8)
    assert await asyncio.gather(*[coalescer.submit("a", n) for n in range(10)]) == [
        n * 2 for n in range(10)
    ]
    assert [items for _, items in doubler.calls] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


async def test_callers_wait_and_batch_up_while_calls_are_in_flight() -> None:
    doubler = Doubler()
    doubler.gate = asyncio.Event()
    coalescer = BatchCoalescer(doubler, max_batch=100, max_in_flight=1)
    first = coalescer.submit("a", 1)
    await asyncio.sleep(0)  # one loop turn: the first batch goes out and blocks on the gate
    later = [coalescer.submit("a", n) for n in range(2, 6)]
    await asyncio.sleep(0)
    assert doubler.calls == [("a", [1])]
    doubler.gate.set()
    assert await asyncio.gather(first, *later) == [2, 4, 6, 8, 10]
    assert doubler.calls == [("a", [1]), ("a", [2, 3, 4, 5])]


async def test_urgent_items_go_first_in_batches_of_their_own_past_the_limit() -> None:
    """An OTP's accept does not queue behind a flood's batches."""
    doubler = Doubler()
    doubler.gate = asyncio.Event()
    coalescer = BatchCoalescer(doubler, max_batch=2, max_in_flight=1)
    flood = [coalescer.submit("a", n) for n in range(6)]
    await asyncio.sleep(0)  # the flood's first batch takes the only place and blocks
    otp = coalescer.submit("b", 100, urgent=True)
    more_otp = coalescer.submit("a", 200, urgent=True)
    for _ in range(2):  # the flush, then the calls' first steps
        await asyncio.sleep(0)
    assert doubler.calls == [("a", [0, 1]), ("b", [100]), ("a", [200])]
    doubler.gate.set()
    assert await asyncio.gather(otp, more_otp) == [200, 400]
    assert await asyncio.gather(*flood) == [n * 2 for n in range(6)]
    assert doubler.calls[3:] == [("a", [2, 3]), ("a", [4, 5])]


async def test_a_failing_call_fails_only_its_own_callers() -> None:
    coalescer = BatchCoalescer(Doubler(), max_batch=100, max_in_flight=4)
    broken = coalescer.submit("broken", 1)
    fine = coalescer.submit("fine", 2)
    assert await fine == 4
    with pytest.raises(ConnectionError):
        await broken


async def test_a_call_returning_the_wrong_number_of_results_is_an_error() -> None:
    async def short(key: str, items: list[int]) -> list[int]:
        return items[1:]

    coalescer = BatchCoalescer(short, max_batch=100, max_in_flight=4)
    futures = [coalescer.submit("a", n) for n in range(3)]
    for future in futures:
        with pytest.raises(RuntimeError, match="2 results for 3"):
            await future


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    doubler = Doubler()
    coalescer = BatchCoalescer(doubler, max_batch=100, max_in_flight=4)
    gone = asyncio.ensure_future(coalescer.submit("a", 1))
    kept = coalescer.submit("a", 2)
    gone.cancel()
    assert await kept == 4
    assert doubler.calls == [("a", [1, 2])]


async def test_aclose_waits_for_sent_calls_and_cancels_unsent_items() -> None:
    doubler = Doubler()
    doubler.gate = asyncio.Event()
    coalescer = BatchCoalescer(doubler, max_batch=100, max_in_flight=1)
    sent = coalescer.submit("a", 1)
    await asyncio.sleep(0)
    unsent = coalescer.submit("a", 2)
    closing = asyncio.ensure_future(coalescer.aclose())
    await asyncio.sleep(0)
    assert unsent.cancelled() and not closing.done()
    doubler.gate.set()
    await closing
    assert await sent == 2


async def test_many_items_of_one_caller_share_the_batches_and_keep_their_order() -> None:
    doubler = Doubler()
    coalescer = BatchCoalescer(doubler, max_batch=2, max_in_flight=8)
    single = coalescer.submit("b", 100)
    many = coalescer.submit_many([("a" if n % 2 else "b", n) for n in range(7)])
    assert await many == [n * 2 for n in range(7)]
    assert await single == 200
    assert doubler.calls == [("b", [100, 0]), ("a", [1, 3]), ("b", [2, 4]), ("a", [5]), ("b", [6])]


async def test_many_items_fail_with_the_first_error_of_their_batches() -> None:
    doubler = Doubler()
    coalescer = BatchCoalescer(doubler, max_batch=100, max_in_flight=4)
    with pytest.raises(ConnectionError):
        await coalescer.submit_many([("fine", 1), ("broken", 2), ("fine", 3)])
    assert sorted(doubler.calls) == [("broken", [2]), ("fine", [1, 3])]


async def test_many_items_may_be_none_and_may_be_urgent() -> None:
    doubler = Doubler()
    doubler.gate = asyncio.Event()
    coalescer = BatchCoalescer(doubler, max_batch=100, max_in_flight=1)
    assert await coalescer.submit_many([]) == []
    flood = coalescer.submit("a", 1)
    await asyncio.sleep(0)  # the flood takes the only place and blocks
    otp = coalescer.submit_many([("a", 2), ("b", 3)], urgent=True)
    for _ in range(2):
        await asyncio.sleep(0)
    assert doubler.calls == [("a", [1]), ("a", [2]), ("b", [3])]
    doubler.gate.set()
    assert await otp == [4, 6]
    assert await flood == 2


@pytest.mark.parametrize(("max_batch", "max_in_flight"), [(0, 1), (1, 0)])
def test_limits_must_be_positive(max_batch: int, max_in_flight: int) -> None:
    with pytest.raises(ValueError):
        BatchCoalescer(Doubler(), max_batch=max_batch, max_in_flight=max_in_flight)
