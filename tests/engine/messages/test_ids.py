"""Our message ids: hex by default, decimal ids that fit a signed 64-bit
integer, unique and growing within a process, distinct across shards and
restarts, and told from an earlier process's ids by outbox recovery."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.messages.ids import EPOCH_MS, MAX_SHARD, PER_MILLISECOND, MessageIds

INT64_MAX = (1 << 63) - 1
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()


class StoppedClock:
    """A clock that moves only when told: many ids in one millisecond."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


shards = st.integers(0, MAX_SHARD)
steps = st.lists(st.integers(-5, 5), min_size=1, max_size=200)
"""Clock moves between ids, in milliseconds: back, still or forward."""


@given(shard=shards, moves=steps)
def test_decimal_ids_fit_int64_are_unique_and_grow(shard: int, moves: list[int]) -> None:
    clock = StoppedClock()
    ids = MessageIds(shard, clock)
    made = []
    for move in moves:
        clock.now += move / 1000
        made.append(ids("decimal"))
    values = [int(i) for i in made]
    assert all(str(v) == i and 0 < v <= INT64_MAX for v, i in zip(values, made, strict=True))
    assert values == sorted(set(values))
    assert all((v >> 14) & MAX_SHARD == shard for v in values)


@given(pair=st.lists(shards, min_size=2, max_size=2, unique=True))
def test_two_shards_never_make_the_same_decimal_id(pair: list[int]) -> None:
    first, second = pair
    a, b = MessageIds(first, StoppedClock()), MessageIds(second, StoppedClock())
    assert not {a("decimal") for _ in range(50)} & {b("decimal") for _ in range(50)}


def test_a_full_millisecond_borrows_the_next_one() -> None:
    ids = MessageIds(7, StoppedClock())
    values = [int(ids("decimal")) for _ in range(PER_MILLISECOND + 2)]
    assert len(set(values)) == len(values) and values == sorted(values)
    milliseconds = [v >> 22 for v in values]
    assert milliseconds[PER_MILLISECOND - 1] == milliseconds[0]
    assert milliseconds[PER_MILLISECOND] == milliseconds[0] + 1
    assert [v & (PER_MILLISECOND - 1) for v in values[-3:]] == [PER_MILLISECOND - 1, 0, 1]


def test_the_time_part_counts_milliseconds_since_2025() -> None:
    value = int(MessageIds(0, StoppedClock())("decimal"))
    assert value >> 22 == int(NOW * 1000) - EPOCH_MS


def test_hex_ids_are_as_before() -> None:
    ids = MessageIds(3, StoppedClock())
    assert ids() == ids.prefix + "0000000" and ids("hex") == ids.prefix + "0000001"
    assert ids.prefix == f"{int(NOW * 1000):x}03" and len(ids()) == 20


def test_made_here_tells_this_process_from_earlier_ones_of_its_shard() -> None:
    earlier = MessageIds(5, StoppedClock(NOW))
    old = [earlier(), earlier("decimal")]
    later = MessageIds(5, StoppedClock(NOW + 30))
    new = [later(), later("decimal")]
    other_shard = MessageIds(6, StoppedClock(NOW + 30))
    assert [later.made_here(i) for i in new] == [True, True]
    assert [later.made_here(i) for i in old] == [False, False]
    assert not later.made_here(other_shard("decimal"))
    too_big = str(INT64_MAX + 1)
    assert not any(later.made_here(i) for i in ("", "abc", "-1", too_big, "9" * 20, "\uff11\uff12"))


def test_a_clock_outside_the_range_of_decimal_ids_is_refused() -> None:
    with pytest.raises(ValueError, match="range of decimal ids"):
        MessageIds(0, StoppedClock(EPOCH_MS / 1000 - 1))
    with pytest.raises(ValueError, match="shard number"):
        MessageIds(MAX_SHARD + 1)
