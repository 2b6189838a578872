"""The receipt maps: what a connector stored is found by any shard, spread over
hash tags, forgotten on request, and expires."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from engine.messages.receipt_map import (
    RECEIPT_TAGS,
    MemoryReceiptMap,
    ReceiptMap,
    RedisReceiptMap,
    SubmittedPart,
)
from engine.messages.reports import forwarded_err
from tests.cluster import (  # noqa: F401  (the Redis map is tried on a node and on a cluster)
    redis_either_fixture,
    redis_url_fixture,
)


def _part(n: int) -> SubmittedPart:
    return SubmittedPart(
        message_id=f"m{n}", account="acme", registered_delivery=1, source_addr="ACME",
        destination_addr=f"4179000000{n}", submitted_at=1_700_000_000.5 + n, last=n % 2 == 0,
    )  # fmt: skip


@pytest.fixture(params=["memory", "redis"])
def receipts(request: pytest.FixtureRequest, namespace: str) -> ReceiptMap:
    if request.param == "memory":
        return MemoryReceiptMap(ttl=600)
    redis_client: Redis = request.getfixturevalue("redis_client")
    return RedisReceiptMap(redis_client, namespace, ttl=600)


async def test_parts_put_in_one_batch_are_found_by_operator_id(receipts: ReceiptMap) -> None:
    await receipts.put_many("op-a", [(f"X{n}", _part(n)) for n in range(5)])
    await receipts.put_many("op-b", [("X3", _part(7))])
    await receipts.put_many("op-a", [])
    wanted = [("op-a", "X3"), ("op-b", "X3"), ("op-c", "X3"), ("op-a", "X0")]
    assert await receipts.get_many(wanted) == [_part(3), _part(7), None, _part(0)]
    assert await receipts.get_many([]) == []


async def test_forgotten_correlations_are_found_no_more(receipts: ReceiptMap) -> None:
    ids = [f"X{n}" for n in range(200)]
    await receipts.put_many("op-a", [(operator_id, _part(1)) for operator_id in ids])
    await receipts.forget_many([("op-a", operator_id) for operator_id in ids[::2]])
    await receipts.forget_many([("op-a", "never-stored"), ("op-b", "X1")])
    await receipts.forget_many([])
    found = await receipts.get_many([("op-a", operator_id) for operator_id in ids])
    assert found == [None, _part(1)] * 100


async def test_a_connectors_keys_spread_over_many_slots_and_expire(
    redis_client: Redis, namespace: str
) -> None:
    """Each call stays in one Cluster slot (a cluster refuses any that does
    not), while one connector's correlations spread over `RECEIPT_TAGS` slots."""
    stored = RedisReceiptMap(redis_client, namespace, ttl=600)
    ids = [f"{n:08X}" for n in range(1_000)]
    await stored.put_many("op-a", [(operator_id, _part(n)) for n, operator_id in enumerate(ids)])
    keys = [stored.key("op-a", operator_id)[1] for operator_id in ids]
    assert len({key_slot(key.encode()) for key in keys}) == RECEIPT_TAGS
    other_shard = RedisReceiptMap(redis_client, namespace, ttl=600)
    assert await other_shard.get_many([("op-a", ids[7])]) == [_part(7)]
    assert 590 <= await redis_client.ttl(keys[7]) <= 600


def test_an_operators_err_is_passed_on_as_ascii_letters_and_digits() -> None:
    assert [forwarded_err(e) for e in (None, "", "001", "0x1F", "²²²", "é12", "ok!")] == [
        "000", "000", "001", "0x1", "000", "12", "ok"
    ]  # fmt: skip
