"""What Redis holds of a verification: never its code (only the Redis backend
holds anything to search)."""

from __future__ import annotations

from redis.asyncio import Redis

from tests.engine.verify.test_service import FR, code_in, texts, verifying


async def test_a_code_is_never_stored_in_clear(redis_client: Redis, namespace: str) -> None:
    """Every value under the verify keys (field values, members and key names)
    is searched for every code sent; long codes, so that a chance match with a
    number, a time or an id is out of the question."""
    limits = {"resend_interval": 0, "sends_per_window": 9}
    async with verifying("redis", redis_client, namespace, **limits) as verify:
        for i, length in enumerate([8, 9, 10] * 3):
            await verify.start(code_length=length)
            assert len(await verify.code(nth=i)) == length
        codes = [code_in(text).encode() for text in texts(verify.operator.submitted, FR)]
        stored: list[bytes] = []
        async for key in redis_client.scan_iter(match=f"{namespace}:verify:*"):
            stored.append(key)
            if await redis_client.type(key) == b"hash":
                for field, value in (await redis_client.hgetall(key)).items():  # type: ignore[misc]
                    stored += [field, value]
            else:
                stored += await redis_client.zrange(key, 0, -1)
        assert len(stored) > 9 * 20
        assert not [(code, value) for code in codes for value in stored if code in value]
