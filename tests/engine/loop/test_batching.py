"""Per-iteration batches, and the retry of batches whose backend failed."""

from __future__ import annotations

import asyncio

from engine.loop.batching import BackgroundTasks, TickBatcher
from ledger.retry import Backoff, Jitter
from smpp import pdu as p
from tests.engine.gateway_harness import CREDIT, PRICE, Customer, running_gateway, simulator


async def test_one_call_per_iteration() -> None:
    calls: list[list[int]] = []

    async def handle(batch: list[int]) -> None:
        calls.append(batch)

    tasks = BackgroundTasks()
    batcher = TickBatcher(handle, tasks)
    for item in range(5):
        batcher.add(item)
    await tasks.drain()
    batcher.add(5)
    await tasks.drain()
    assert calls == [[0, 1, 2, 3, 4], [5]]


async def test_a_failed_batch_is_handled_again_until_it_succeeds() -> None:
    calls: list[list[int]] = []

    async def handle(batch: list[int]) -> None:
        calls.append(batch)
        if len(calls) < 3:
            raise ConnectionError("backend down")

    tasks = BackgroundTasks()
    batcher = TickBatcher(handle, tasks, retry=Backoff(0.01, 0.01, Jitter.NONE))
    batcher.add(1)
    batcher.add(2)
    for _ in range(100):
        await tasks.drain()
        if len(calls) == 3:
            break
        await asyncio.sleep(0.01)
    assert calls == [[1, 2], [1, 2], [1, 2]]


async def test_without_retry_a_failure_is_not_repeated() -> None:
    calls = 0

    async def handle(batch: list[int]) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("backend down")

    tasks = BackgroundTasks()
    batcher = TickBatcher(handle, tasks)
    batcher.add(1)
    await tasks.drain()
    await asyncio.sleep(0.05)
    assert calls == 1


async def test_a_capture_that_failed_is_retried_and_the_money_settles() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        ledger = gateway.ledger
        capture_many = ledger.capture_many
        failures = 0

        async def flaky_capture_many(captures):  # type: ignore[no-untyped-def]
            nonlocal failures
            if failures < 1:
                failures += 1
                raise ConnectionError("redis down")
            return await capture_many(captures)

        ledger.capture_many = flaky_capture_many  # type: ignore[method-assign]
        customer = Customer()
        connection = await customer.bind(gateway)
        await connection.call(
            p.SubmitSm(source_addr="BANK", destination_addr="33612345678", short_message=b"hi")
        )
        state = None
        for _ in range(300):
            await gateway.pipeline.drain()
            state = await ledger.get_account("bank")
            if state is not None and state.held == 0:
                break
            await asyncio.sleep(0.01)
        assert failures == 1
        assert state is not None and (state.balance, state.held) == (CREDIT - PRICE, 0)
        assert [entry async for entry in ledger.read_outbox()] == []
        await connection.unbind()
