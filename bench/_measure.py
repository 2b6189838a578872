"""Calls per second of synchronous operations, every subject measured the same
way: a fixed warm-up, then a fixed measuring time split into rounds that take
turns across the subjects, keeping each subject's best round.

Taking turns and keeping the best round is what makes a comparison hold on a
shared machine: a burst of load elsewhere costs one round of one subject, not
the whole figure (the reasoning of ``timeit``'s "use the minimum"). Inside a
round the operation runs in batches and the clock is read once per batch, so
reading it stays out of the figure; a batch is the smallest power of two of
calls that lasts `BATCH_SECONDS`. The garbage collector stays on: what a
library allocates is part of what it costs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping
from itertools import repeat
from typing import Any, NamedTuple, TypeVar

K = TypeVar("K", bound=Hashable)

BATCH_SECONDS = 0.002
MAX_BATCH = 1 << 20


class Subject(NamedTuple):
    """One thing to measure: ``operation(argument)``."""

    operation: Callable[[Any], object]
    argument: Any


def best_rates(
    subjects: Mapping[K, Subject], *, duration: float, warmup: float, rounds: int
) -> dict[K, float]:
    """Best calls per second of each subject over ``rounds`` rounds of
    ``duration / rounds`` seconds each, after ``warmup`` seconds of calls."""
    if duration <= 0 or warmup < 0 or rounds < 1:
        raise ValueError("duration must be positive, warmup not negative, rounds at least 1")
    batches = {key: _batch_size(subject) for key, subject in subjects.items()}
    for key, subject in subjects.items():
        _run(subject, batches[key], warmup)
    best = dict.fromkeys(subjects, 0.0)
    for _ in range(rounds):
        for key, subject in subjects.items():
            calls, elapsed = _run(subject, batches[key], duration / rounds)
            best[key] = max(best[key], calls / elapsed)
    return best


def _batch_size(subject: Subject) -> int:
    operation, argument = subject
    batch = 1
    while batch < MAX_BATCH:
        start = time.perf_counter()
        for _ in repeat(None, batch):
            operation(argument)
        if time.perf_counter() - start >= BATCH_SECONDS:
            break
        batch *= 2
    return batch


def _run(subject: Subject, batch: int, seconds: float) -> tuple[int, float]:
    """Whole batches until ``seconds`` have passed (at least one): calls made
    and seconds taken."""
    operation, argument = subject
    clock = time.perf_counter
    calls = 0
    start = clock()
    deadline = start + seconds
    while True:
        for _ in repeat(None, batch):
            operation(argument)
        calls += batch
        now = clock()
        if now >= deadline:
            return calls, now - start
