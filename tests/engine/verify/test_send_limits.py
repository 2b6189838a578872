"""How many codes one account may send one number (memory, a Redis node, a Redis Cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.verify.model import Limited
from engine.verify.send_limits import (
    MemorySendLimiter,
    RedisSendLimiter,
    SendLimiter,
    SendLimits,
    admit,
)
from engine.verify.settings import VerifySettings
from ledger.redis_client import RedisClient
from tests.cluster import ON_EACH_BACKEND

NOW = 1_800_000_000_000
LIMITS = SendLimits.of(VerifySettings(resend_interval=30, sends_per_window=3, send_window=600))
TO = "33612345678"


@pytest.fixture
async def limiter(
    backend: str, redis_client: RedisClient, namespace: str
) -> AsyncIterator[SendLimiter]:
    if backend == "memory":
        yield MemorySendLimiter(LIMITS)
    else:
        yield RedisSendLimiter(redis_client, namespace, LIMITS)


@ON_EACH_BACKEND
async def test_codes_to_one_number_are_spaced_and_counted(limiter: SendLimiter) -> None:
    assert await limiter.reserve("bank", TO, "v1", NOW) is None
    too_soon = await limiter.reserve("bank", TO, "v2", NOW + 10_000)
    assert too_soon == Limited(
        "resend_interval",
        20,
        "at least 30 s between two codes to one number (resend_interval); try again in 20 s",
    )
    assert await limiter.reserve("bank", TO, "v2", NOW + 30_000) is None
    assert await limiter.reserve("bank", TO, "v3", NOW + 60_000) is None
    full = await limiter.reserve("bank", TO, "v4", NOW + 90_000)
    assert full is not None and (full.limit, full.retry_after) == ("sends_per_window", 510)
    assert "at most 3 codes to one number per 600 s" in full.detail
    assert await limiter.reserve("bank", TO, "v4", NOW + 600_000) is None  # v1 left the window


@ON_EACH_BACKEND
async def test_each_account_and_number_counts_alone(limiter: SendLimiter) -> None:
    assert await limiter.reserve("bank", TO, "v1", NOW) is None
    assert await limiter.reserve("shop", TO, "v2", NOW) is None
    assert await limiter.reserve("bank", "33699999999", "v3", NOW) is None
    assert await limiter.reserve("bank", TO, "v4", NOW) is not None


@ON_EACH_BACKEND
async def test_a_refused_send_gives_its_place_back(limiter: SendLimiter) -> None:
    assert await limiter.reserve("bank", TO, "v1", NOW) is None
    await limiter.release("bank", TO, "v1")
    assert await limiter.reserve("bank", TO, "v2", NOW + 1) is None


@given(st.lists(st.integers(0, 700_000), max_size=8), st.integers(0, 700_000))
def test_a_refusal_says_when_the_code_would_be_admitted(sent: list[int], now: int) -> None:
    """Waiting the time a refusal names is enough for that limit, and no less
    would do (over histories the limiter can hold: at most a window's worth)."""
    sent = sorted(at for at in sent if now - LIMITS.window_ms < at <= now)
    assume(len(sent) <= LIMITS.per_window)
    limit, wait_ms = admit(sent, now, LIMITS)
    if not limit:
        return
    assert wait_ms > 0
    later = now + wait_ms
    remaining = [at for at in sent if later - LIMITS.window_ms < at]
    if limit == "resend_interval":
        assert later - sent[-1] >= LIMITS.interval_ms > later - 1 - sent[-1]
    else:
        assert (
            len(remaining)
            < LIMITS.per_window
            <= len([at for at in sent if later - 1 - LIMITS.window_ms < at])
        )
