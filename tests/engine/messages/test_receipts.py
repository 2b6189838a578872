"""The Redis receipt map: what a connector stored is found by any shard, and expires."""

from __future__ import annotations

from redis.asyncio import Redis

from engine.messages.receipt_map import RedisReceiptMap, SubmittedPart
from engine.messages.reports import forwarded_err


def _part(n: int) -> SubmittedPart:
    return SubmittedPart(
        message_id=f"m{n}", account="acme", registered_delivery=1, source_addr="ACME",
        destination_addr=f"4179000000{n}", submitted_at=1_700_000_000.5 + n, last=n % 2 == 0,
    )  # fmt: skip


async def test_parts_put_in_one_batch_are_found_by_operator_id(
    redis_client: Redis, namespace: str
) -> None:
    stored = RedisReceiptMap(redis_client, namespace, ttl=600)
    await stored.put_many("op-a", [(f"X{n}", _part(n)) for n in range(5)])
    await stored.put_many("op-b", [("X3", _part(7))])
    await stored.put_many("op-a", [])
    other_shard = RedisReceiptMap(redis_client, namespace, ttl=600)
    wanted = [("op-a", "X3"), ("op-b", "X3"), ("op-c", "X3"), ("op-a", "X0")]
    assert await other_shard.get_many(wanted) == [_part(3), _part(7), None, _part(0)]
    # One hash tag per connector: each call stays in one Redis Cluster slot.
    assert 590 <= await redis_client.ttl(f"{namespace}:{{dlr:op-a}}:X4") <= 600


def test_an_operators_err_is_passed_on_as_ascii_letters_and_digits() -> None:
    assert [forwarded_err(e) for e in (None, "", "001", "0x1F", "²²²", "é12", "ok!")] == [
        "000", "000", "001", "0x1", "000", "12", "ok"
    ]  # fmt: skip
