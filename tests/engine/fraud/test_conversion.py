"""The conversion tracker is what the Verify API tells (its `VerifyObserver`)."""

from __future__ import annotations

import inspect

from engine.fraud.conversion import ConversionTracker
from engine.fraud.counters import SharedCounters
from engine.verify.observer import VerifyObserver


def test_it_has_the_observers_two_methods_as_they_are() -> None:
    for name in ("sent", "approved"):
        ours = inspect.signature(getattr(ConversionTracker, name))
        assert ours == inspect.signature(getattr(VerifyObserver, name)), name


def test_codes_count_by_prefix_with_or_without_a_plus() -> None:
    counters = SharedCounters("minutes", 60, 71)
    tracker = ConversionTracker(counters, 7, window=3_600.0, grace=600.0)
    tracker.sent("bank", "+33899120001", 0.0)
    tracker.sent("bank", "33899120002", 0.0)
    tracker.approved("bank", "+33899120001", 60.0)
    assert tracker.figures("bank", "3389912", 60.0) == (0, 1)  # the codes are in their grace
    assert tracker.figures("bank", "3389912", 600.0) == (2, 1)
    assert tracker.figures("shop", "3389912", 600.0) == (0, 0)
