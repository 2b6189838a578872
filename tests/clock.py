"""A clock the test moves, for code that takes a ``clock`` callable."""

from __future__ import annotations


class FakeClock:
    """Seconds, moved only by the test."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
